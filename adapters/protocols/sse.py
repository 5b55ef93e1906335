"""Server-sent events: a line-based decoder and pre-encoded frame helpers.

The decoder follows the WHATWG event-stream rules that matter for LLM APIs: ``event:`` and
``data:`` fields, several ``data:`` lines joined with ``\\n``, comments (``:``) ignored, a blank
line dispatching the event. It works on bytes, so no per-line text decoding is paid.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec


class SSEFrame(msgspec.Struct, frozen=True):
    event: bytes | None  # None when the frame had no ``event:`` field
    data: bytes


async def decode_sse(lines: AsyncIterator[bytes]) -> AsyncIterator[SSEFrame]:
    """Group SSE lines (terminators already stripped) into frames."""
    event: bytes | None = None
    data: list[bytes] = []
    async for line in lines:
        if not line:
            if data:
                yield SSEFrame(event, b"\n".join(data))
            event, data = None, []
            continue
        if line[0] == 0x3A:  # ':' comment / keep-alive
            continue
        field, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"event":
            event = value
        # id: and retry: are not used by LLM APIs
    if data:  # a stream that ends without its final blank line still delivers its last frame
        yield SSEFrame(event, b"\n".join(data))


def frame(data: bytes, event: bytes | None = None) -> bytes:
    """Encode one SSE frame."""
    if event is None:
        return b"data: " + data + b"\n\n"
    return b"event: " + event + b"\ndata: " + data + b"\n\n"
