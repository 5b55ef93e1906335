"""A fake upstream LLM API: a real HTTP server on 127.0.0.1 that speaks OpenAI and Anthropic.

Endpoints (any other path answers 404 with an OpenAI-shaped error):

* ``POST /v1/chat/completions``: OpenAI; a provider's ``base_url`` is ``<url>/v1``.
* ``POST /v1/embeddings``: OpenAI's embeddings (a recorded answer).
* ``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: Anthropic; ``base_url`` is ``<url>``.

Use it from async tests::

    async with FakeUpstream() as upstream:
        upstream.script(error(429, retry_after=2), json_fixture("openai/chat_text.json"))
        ...  # point a provider at upstream.url + "/v1"
        assert upstream.requests[0].json["model"] == "gpt-4o-mini"

or from sync tests (its own loop in a daemon thread)::

    upstream = FakeUpstream().start_in_thread()   # or start_in_thread()
    try: ... finally: upstream.stop()

What it answers: the next script queued for the request's path (``script_for(path, ...)``),
else the next script of the queue (``script(...)``, first in first out), else
``default`` when set, else the recorded fixtures of ``tests/fixtures/`` for the path and the
request's ``stream`` flag: a text reply whose ``model`` echoes the request's, with the OpenAI
usage chunk only when the request asked ``stream_options.include_usage``; count_tokens answers
``{"input_tokens": 31}``. Scripts: ``Reply`` (status, body, headers: a JSON fixture or an error),
``Stream`` (SSE frames with an optional delay, stall, clean early end or abrupt cut-off),
``Stall`` (sleep, then answer) and ``Refuse`` (close the connection without answering); build
them with ``json_fixture``, ``sse_fixture`` and ``error``. ``Chaos`` (for ``default``) answers
each request with a fault drawn from a seeded RNG (refuse, stall before the first byte, 429 with
Retry-After, 500, 529, cut stream, stall mid-stream) or, the rest of the time, the fixtures;
``Fixtures(delay_ms=...)`` answers the fixtures for any path, streams slowed down.

What it records: every request in ``requests`` (``RecordedRequest``: method, path, query, headers
lower-cased, raw body, parsed JSON, frames sent, whether the client went away before the answer
was complete, the ``Chaos`` fault it drew), ``connections``, the number of TCP connections
accepted (pooling tests), ``open_connections``, those open now, and ``in_flight``, the requests
being answered now. The client going away is seen at once, even during a sleep (the handler is
cancelled).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import re
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import msgspec
from aiohttp import web

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
_MODEL_TOKEN = re.compile(rb'"model":\s*"[^"]*"')
_SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}


@cache
def fixture(name: str) -> bytes:
    """The bytes of ``tests/fixtures/<name>``, read once."""
    return (FIXTURES / name).read_bytes()


def sse_frames(data: bytes) -> tuple[bytes, ...]:
    """Split an SSE body into frames, each ending with its blank line."""
    return tuple(chunk + b"\n\n" for chunk in data.split(b"\n\n") if chunk.strip())


@cache
def fixture_frames(name: str, *, usage: bool = True) -> tuple[bytes, ...]:
    """The frames of the SSE fixture ``name``; ``usage=False`` drops OpenAI's usage chunk."""
    frames = sse_frames(fixture(name))
    return frames if usage else tuple(frame for frame in frames if b'"choices":[]' not in frame)


@dataclass(frozen=True)
class Reply:
    """Answer at once. ``echo_model``: replace the body's ``"model"`` with the request's."""

    status: int = 200
    body: bytes = b"{}"
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    echo_model: bool = False


@dataclass(frozen=True)
class Stream:
    """Replay SSE ``frames`` (each a whole frame, blank line included).

    ``delay_ms`` between frames; ``stall_after``: sleep ``stall_seconds`` before frame N;
    ``end_after``: end the response cleanly after N frames (no SSE terminator);
    ``cut_after``: after N frames close the connection abruptly (no terminating HTTP chunk).
    """

    frames: tuple[bytes, ...]
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_ms: float = 0
    stall_after: int | None = None
    stall_seconds: float = 0
    end_after: int | None = None
    cut_after: int | None = None
    echo_model: bool = False


@dataclass(frozen=True)
class Stall:
    """Sleep ``seconds`` before answering ``then`` (default: the fixtures' answer)."""

    seconds: float
    then: Script | None = None


@dataclass(frozen=True)
class Refuse:
    """Read the request, then close the connection without answering."""


@dataclass(frozen=True)
class Fixtures:
    """The recorded fixtures' answer for the request's path and stream flag (what a fake with
    no script and no ``default`` answers), a stream's frames ``delay_ms`` apart."""

    delay_ms: float = 0


# Every fault ``Chaos`` knows; the last two only apply to streaming requests.
CHAOS_FAULTS = ("refuse", "stall_first_byte", "429", "500", "529", "cut", "stall_mid_stream")
_STREAM_ONLY_FAULTS = frozenset({"cut", "stall_mid_stream"})


@dataclass(eq=False)
class Chaos:
    """A ``default`` answer that injects faults: each request draws from a ``random.Random(seed)``
    whether it fails (probability ``rate``) and how (one of ``faults`` that applies to it:
    ``cut`` and ``stall_mid_stream`` only to streams). Errors have the shape of the request's
    protocol (by path); stalls last ``stall_seconds``; 429 and 529 carry ``retry_after``; a cut
    or stalled stream sends ``after_frames`` frames first. ``drawn`` counts the faults served
    (and ``"ok"``); each recorded request's ``fault`` says which one it got."""

    seed: int = 0
    rate: float = 1 / 3
    faults: tuple[str, ...] = CHAOS_FAULTS
    stall_seconds: float = 2.0
    retry_after: float = 0.05
    after_frames: int = 2
    drawn: Counter[str] = field(default_factory=Counter, init=False)

    def __post_init__(self) -> None:
        unknown = set(self.faults) - set(CHAOS_FAULTS)
        if unknown:
            raise ValueError(f"unknown chaos faults: {sorted(unknown)}")
        self._rng = random.Random(self.seed)

    def pick(self, record: RecordedRequest) -> tuple[str, Script]:
        """The fault (or ``"ok"``) for this request, and the script that serves it."""
        normal = _default_script(record)
        streaming = isinstance(normal, Stream)
        options = [f for f in self.faults if streaming or f not in _STREAM_ONLY_FAULTS]
        fault = "ok"
        if options and self._rng.random() < self.rate:
            fault = self._rng.choice(options)
        self.drawn[fault] += 1
        anthropic = record.path.startswith("/v1/messages")
        protocol: Literal["openai", "anthropic"] = "anthropic" if anthropic else "openai"
        match fault:
            case "ok":
                return fault, normal
            case "refuse":
                return fault, Refuse()
            case "stall_first_byte":
                return fault, Stall(self.stall_seconds, normal)
            case "429" | "529":
                return fault, error(int(fault), protocol=protocol, retry_after=self.retry_after)
            case "500":
                return fault, error(500, protocol=protocol)
            case "cut":
                assert isinstance(normal, Stream)
                return fault, dataclasses.replace(normal, cut_after=self.after_frames)
            case "stall_mid_stream":
                assert isinstance(normal, Stream)
                return fault, dataclasses.replace(
                    normal, stall_after=self.after_frames, stall_seconds=self.stall_seconds
                )
            case _:
                raise AssertionError(fault)


Script = Reply | Stream | Stall | Refuse | Chaos | Fixtures


def json_fixture(
    name: str, *, status: int = 200, headers: Mapping[str, str] | None = None, echo_model: bool = True
) -> Reply:
    """Answer the JSON fixture ``name`` (e.g. ``"openai/chat_tool_calls_parallel.json"``)."""
    return Reply(status, fixture(name), dict(headers or {}), echo_model=echo_model)


def sse_fixture(name: str, *, echo_model: bool = True, **options: Any) -> Stream:
    """Replay the SSE fixture ``name``; ``options`` are ``Stream``'s (delay_ms, cut_after...)."""
    return Stream(fixture_frames(name), echo_model=echo_model, **options)


_ERROR_FIXTURES = {
    ("openai", 400): "openai/error_400_unknown_parameter.json",
    ("openai", 429): "openai/error_429.json",
    ("anthropic", 400): "anthropic/error_400_missing_max_tokens.json",
    ("anthropic", 429): "anthropic/error_429.json",
    ("anthropic", 529): "anthropic/error_529_overloaded.json",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 529: "overloaded_error",
}  # fmt: skip


def error(
    status: int,
    *,
    protocol: Literal["openai", "anthropic"] = "openai",
    body: bytes | None = None,
    retry_after: float | None = None,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """An error answer in ``protocol``'s shape: a recorded body when there is one (400, 429,
    Anthropic 529), else a made-up one of the right shape; ``retry_after`` sets Retry-After."""
    if body is None:
        name = _ERROR_FIXTURES.get((protocol, status))
        if name is not None:
            body = fixture(name)
        elif protocol == "anthropic":
            kind = _ANTHROPIC_TYPES.get(status, "api_error")
            body = msgspec.json.encode(
                {"type": "error", "error": {"type": kind, "message": f"Scripted {status}"}}
            )
        else:
            kind = "server_error" if status >= 500 else "invalid_request_error"
            error_body = {"message": f"Scripted {status}", "type": kind, "param": None, "code": None}
            body = msgspec.json.encode({"error": error_body})
    all_headers = dict(headers or {})
    if retry_after is not None:
        all_headers["retry-after"] = f"{retry_after:g}"
    return Reply(status, body, all_headers)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any  # None when the body is not JSON
    frames_sent: int = 0
    disconnected: bool = False  # the client went away before the answer was complete
    fault: str | None = None  # what ``Chaos`` drew for it ("ok" or a fault), if it answered


class FakeUpstream:
    """The fake server; see the module docstring."""

    def __init__(self, *, port: int = 0, record: bool = True) -> None:
        """``port`` 0 picks a free one; ``record=False`` keeps no requests (long benchmarks)."""
        self._port = port
        self._record = record
        self.url = ""
        self.requests: list[RecordedRequest] = []
        self.connections = 0
        self.in_flight = 0  # requests being answered now
        self.default: Script | None = None
        self._server: web.Server | None = None
        self._queue: deque[Script] = deque()
        self._by_path: dict[str, deque[Script]] = {}
        self._runner: web.ServerRunner | None = None
        self._listener: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---- scripting -------------------------------------------------------------------------
    def script(self, *scripts: Script) -> FakeUpstream:
        """Queue answers for the next requests, in order (safe from any thread)."""
        self._queue.extend(scripts)
        return self

    def script_for(self, path: str, *scripts: Script) -> FakeUpstream:
        """Queue answers for the next requests to ``path``, in order (before ``script``'s)."""
        self._by_path.setdefault(path, deque()).extend(scripts)
        return self

    @property
    def unused_scripts(self) -> int:
        """Scripts queued and not answered yet, for any path."""
        return len(self._queue) + sum(len(queue) for queue in self._by_path.values())

    def reset(self) -> FakeUpstream:
        """Forget scripts, the default answer and recorded requests (between tests)."""
        self._queue.clear()
        self._by_path.clear()
        self.default = None
        self.requests.clear()
        return self

    @property
    def disconnects(self) -> int:
        return sum(1 for request in self.requests if request.disconnected)

    @property
    def open_connections(self) -> int:
        """TCP connections open now (idle keep-alive ones included)."""
        return len(self._server.connections) if self._server is not None else 0

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
        """Poll ``predicate`` until true or ``timeout`` (from a test's loop)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def wait_for_sync(self, predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> FakeUpstream:
        server = self._server = web.Server(self._handle, handler_cancellation=True, access_log=None)
        self._runner = web.ServerRunner(server, shutdown_timeout=0.2)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self._port))
        except OSError:
            sock.close()
            await self._runner.cleanup()
            raise

        def protocol() -> asyncio.Protocol:
            self.connections += 1
            return server()

        self._listener = await asyncio.get_running_loop().create_server(protocol, sock=sock)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        if self._runner is not None:
            await self._runner.cleanup()  # closes open connections, cancels stalled handlers
        self._listener = self._runner = self._server = None

    async def __aenter__(self) -> FakeUpstream:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def start_in_thread(self) -> FakeUpstream:
        """Serve from a daemon thread with its own loop; returns self (``.url``, ``.stop()``)."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                failure.append(exc)
            finally:
                ready.set()
            if not failure:
                loop.run_forever()
                loop.run_until_complete(self.close())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-upstream", daemon=True)
        self._thread.start()
        ready.wait(5)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop a server started with ``start_in_thread``."""
        if self._thread is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._thread = self._loop = None

    # ---- serving ---------------------------------------------------------------------------
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        try:
            parsed = msgspec.json.decode(body) if body else None
        except msgspec.DecodeError:
            parsed = None
        record = RecordedRequest(
            request.method,
            request.path,
            request.query_string,
            {name.lower(): value for name, value in request.headers.items()},
            body,
            parsed,
        )
        if self._record:
            self.requests.append(record)
        for_path = self._by_path.get(request.path)
        if for_path:
            script: Script | None = for_path.popleft()
        else:
            script = self._queue.popleft() if self._queue else self.default
        self.in_flight += 1
        try:
            return await self._answer(request, record, script)
        except asyncio.CancelledError:  # handler_cancellation: the client closed the connection
            record.disconnected = True
            raise
        finally:
            self.in_flight -= 1

    async def _answer(
        self, request: web.BaseRequest, record: RecordedRequest, script: Script | None
    ) -> web.StreamResponse:
        model = record.json.get("model") if isinstance(record.json, dict) else None
        match script:
            case None:
                return await self._answer(request, record, _default_script(record))
            case Reply(status, body, headers, content_type, echo_model):
                body = _echo(body, model) if echo_model else body
                if any(name.lower() == "content-type" for name in headers):
                    return web.Response(status=status, body=body, headers=headers)
                return web.Response(status=status, body=body, headers=headers, content_type=content_type)
            case Stall(seconds, then):
                await asyncio.sleep(seconds)
                return await self._answer(request, record, then or _default_script(record))
            case Refuse():
                _hang_up(request)
                return web.Response()
            case Fixtures(delay_ms):
                normal = _default_script(record)
                if isinstance(normal, Stream) and delay_ms:
                    normal = dataclasses.replace(normal, delay_ms=delay_ms)
                return await self._answer(request, record, normal)
            case Chaos():
                record.fault, chosen = script.pick(record)
                return await self._answer(request, record, chosen)
            case Stream():
                return await self._stream(request, record, script, model if script.echo_model else None)
            case _:
                raise TypeError(f"not a script: {script!r}")

    async def _stream(
        self, request: web.BaseRequest, record: RecordedRequest, script: Stream, model: str | None
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=script.status, headers={**_SSE_HEADERS, **script.headers})
        await response.prepare(request)
        try:
            for index, data in enumerate(script.frames):
                if index == script.end_after:
                    break
                if index == script.cut_after:
                    _hang_up(request)
                    return response
                if index == script.stall_after:
                    await asyncio.sleep(script.stall_seconds)
                elif index and script.delay_ms:
                    await asyncio.sleep(script.delay_ms / 1000)
                await response.write(_echo(data, model) if model else data)
                record.frames_sent += 1
        except ConnectionError:  # the client went away between two frames
            record.disconnected = True
        return response


def _hang_up(request: web.BaseRequest) -> None:
    """Close the connection now; aiohttp then fails to finish the response, quietly."""
    if request.transport is not None:
        request.transport.close()


def _echo(body: bytes, model: str | None) -> bytes:
    if not isinstance(model, str):
        return body
    return _MODEL_TOKEN.sub(b'"model":' + msgspec.json.encode(model), body)


def _default_script(record: RecordedRequest) -> Script:
    """The recorded fixtures' answer for this request's path and stream flag."""
    request = record.json if isinstance(record.json, dict) else {}
    stream = request.get("stream") is True
    match record.path:
        case "/v1/chat/completions" if stream:
            options = request.get("stream_options")
            usage = isinstance(options, dict) and options.get("include_usage") is True
            return Stream(fixture_frames("openai/stream_text_with_usage.sse", usage=usage), echo_model=True)
        case "/v1/chat/completions":
            return json_fixture("openai/chat_text.json", headers={"x-request-id": "req_fake_openai"})
        case "/v1/messages" if stream:
            return sse_fixture("anthropic/stream_text.sse", headers={"request-id": "req_fake_anthropic"})
        case "/v1/messages":
            return json_fixture("anthropic/message_text.json", headers={"request-id": "req_fake_anthropic"})
        case "/v1/messages/count_tokens":
            return Reply(200, b'{"input_tokens":31}')
        case "/v1/embeddings":
            return json_fixture("openai/embeddings.json")
        case _:
            body = {"message": f"Unknown path {record.path}", "type": "invalid_request_error"}
            return Reply(404, msgspec.json.encode({"error": {**body, "param": None, "code": None}}))


def start_in_thread(*, port: int = 0, record: bool = True) -> FakeUpstream:
    """A ``FakeUpstream`` serving from a daemon thread; call ``.stop()`` when done."""
    return FakeUpstream(port=port, record=record).start_in_thread()
