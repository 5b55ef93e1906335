"""In-memory fakes of the upstream-HTTP port (``adapters.outbound.http.HttpClient``): one
scripted answer for every request, what was sent recorded, and the streams still open.
``RecordedHttp`` answers an ``Answer`` (or fails with it); ``FakeHttp`` answers an
``UpstreamResponse`` to a POST and a ``FakeStream`` to a stream. A stream's body is scripted as
lines, handed over as the port does (``port_frames``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from adapters.outbound.http import UpstreamResponse
from adapters.protocols.sse import SSEDecoder, SSEFrame
from domain.errors import GatewayError


async def port_frames(lines: Iterable[bytes]) -> AsyncIterator[list[SSEFrame]]:
    """The frames of ``lines`` in the port's batches, one read per line: the finest a body can
    arrive in (a frame completed by the body's end included)."""
    decoder = SSEDecoder()
    for line in lines:
        if frames := decoder.feed((line,)):
            yield frames
    if frames := decoder.finish():
        yield frames


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    lines: list[bytes] = field(default_factory=list)
    headers: Mapping[str, str] = field(default_factory=dict)
    fail: GatewayError | None = None  # a transport failure instead of an answer


class RecordedStream:
    def __init__(self, answer: Answer) -> None:
        self.status, self.headers, self._answer = answer.status, answer.headers, answer

    async def read(self) -> bytes:
        return self._answer.body

    def frames(self) -> AsyncIterator[list[SSEFrame]]:
        return port_frames(self._answer.lines)


class RecordedHttp:
    """Answers every request with ``answer``; records what was sent and what is still open."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.sent: list[tuple[str, dict[str, str], bytes]] = []
        self.open = self.closed = 0

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        self.sent.append((url, dict(headers), body))
        if self.answer.fail is not None:
            raise self.answer.fail
        return UpstreamResponse(self.answer.status, self.answer.headers, self.answer.body)

    @asynccontextmanager
    async def stream(self, url: str, headers: Mapping[str, str], body: bytes) -> AsyncIterator[RecordedStream]:
        self.sent.append((url, dict(headers), body))
        if self.answer.fail is not None:
            raise self.answer.fail
        self.open += 1
        try:
            yield RecordedStream(self.answer)
        finally:
            self.open -= 1
            self.closed += 1

    async def aclose(self) -> None:
        pass


class FakeStream:
    def __init__(self, status: int, lines: list[bytes], body: bytes = b"") -> None:
        self.status, self.headers, self._lines, self._body = status, {}, lines, body
        self.lines_read = 0

    async def read(self) -> bytes:
        return self._body

    def frames(self) -> AsyncIterator[list[SSEFrame]]:
        return port_frames(self._counted())

    def _counted(self) -> Iterable[bytes]:
        for line in self._lines:
            self.lines_read += 1
            yield line


class FakeHttp:
    """Answers every call with the scripted response; records (url, headers, body)."""

    def __init__(self, *, answer: UpstreamResponse | None = None, stream: FakeStream | None = None) -> None:
        self.answer, self.stream_answer = answer, stream
        self.calls: list[tuple[str, dict[str, str], bytes]] = []
        self.open_streams = 0

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        self.calls.append((url, dict(headers), body))
        assert self.answer is not None
        return self.answer

    @asynccontextmanager
    async def stream(self, url: str, headers: Mapping[str, str], body: bytes) -> AsyncIterator[FakeStream]:
        self.calls.append((url, dict(headers), body))
        assert self.stream_answer is not None
        self.open_streams += 1
        try:
            yield self.stream_answer
        finally:
            self.open_streams -= 1

    async def aclose(self) -> None:
        pass
