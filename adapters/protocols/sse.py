"""Server-sent events: a line-based decoder and pre-encoded frame helpers.

The decoder follows the WHATWG event-stream rules that matter for LLM APIs: ``event:`` and
``data:`` fields, several ``data:`` lines joined with ``\\n``, comments (``:``) ignored, a blank
line dispatching the event. It works on bytes, so no per-line text decoding is paid, and on the
lines of one read of the body at a time (a plain function call, no generator hop per line or
per frame): what a read ends in the middle of waits in the decoder for the next read.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec


class SSEFrame(msgspec.Struct, frozen=True):
    event: bytes | None  # None when the frame had no ``event:`` field
    data: bytes


class SSEDecoder:
    """Lines in (terminators already stripped), complete frames out."""

    __slots__ = ("_data", "_event")

    def __init__(self) -> None:
        self._event: bytes | None = None
        self._data: list[bytes] = []

    def feed(self, lines: Iterable[bytes]) -> list[SSEFrame]:
        """The frames that ``lines`` complete (a blank line dispatches one)."""
        frames: list[SSEFrame] = []
        event, data = self._event, self._data
        for line in lines:
            if not line:
                if data:
                    frames.append(SSEFrame(event, data[0] if len(data) == 1 else b"\n".join(data)))
                    data = []
                event = None
            elif line[:6] == b"data: ":  # the usual lines: no partition
                data.append(line[6:])
            elif line[:7] == b"event: ":
                event = line[7:]
            elif line[0] != 0x3A:  # ':' starts a comment / keep-alive
                field, _, value = line.partition(b":")
                if value[:1] == b" ":
                    value = value[1:]
                if field == b"data":
                    data.append(value)
                elif field == b"event":
                    event = value
                # id: and retry: are not used by LLM APIs
        self._event, self._data = event, data
        return frames

    def finish(self) -> list[SSEFrame]:
        """At the end of the body: a stream that ends without its final blank line still
        delivers its last frame."""
        return self.feed((b"",))


def frame(data: bytes, event: bytes | None = None) -> bytes:
    """Encode one SSE frame."""
    if event is None:
        return b"data: " + data + b"\n\n"
    return b"event: " + event + b"\ndata: " + data + b"\n\n"
