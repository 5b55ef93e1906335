"""The sink fake upstream: takes request bodies of any size and answers each with a recorded
reply, for the large-request measurement (``bench/large.py``).

``python -m bench.sink_upstream --port P``: uvloop, a raw asyncio protocol and httptools, the
body dropped as it arrives. ``/v1/chat/completions`` answers ``openai/chat_text.json``,
``/v1/messages`` ``anthropic/message_text.json``, ``/v1/messages/count_tokens`` a count.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import httptools
import uvloop

from bench.upstream import ROOT

_FIXTURES = ROOT / "tests" / "fixtures"


def _reply(body: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
    return head % len(body) + body


REPLIES = {
    b"/v1/chat/completions": _reply((_FIXTURES / "openai" / "chat_text.json").read_bytes()),
    b"/v1/messages": _reply((_FIXTURES / "anthropic" / "message_text.json").read_bytes()),
    b"/v1/messages/count_tokens": _reply(b'{"input_tokens":7}'),
}
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"


class Sink(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_message_complete(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(REPLIES.get(self.url, _NOT_FOUND))


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Sink, "127.0.0.1", port)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with server:
        await stop


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sink_upstream")
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
