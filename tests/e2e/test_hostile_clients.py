"""Hostile clients on raw sockets against the real gateway process: each refusal is a clear
answer in bounded time, the worker's peak memory stays within ``RSS_BOUND`` of what it was
before, and the worker answers ``/healthz`` while each attack goes on.

The gateway runs with the default limits except ``header_timeout_seconds`` and
``body_timeout_seconds`` (shortened, so the silent-connection tests take a second, not ten or
sixty); the connection cap has a gateway of its own with a small ``max_client_connections``.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from tests.e2e.launcher import GatewayProcess, launch
from tests.fakes.upstream import FakeUpstream

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
RSS_BOUND = 8 * 1024  # kB the worker's peak RSS may grow during one attack (measured: under 1 MB)
HEALTHZ_WITHIN = 1.0  # seconds

CHAT = b"/openai/v1/chat/completions"
MESSAGES = b"/anthropic/v1/messages"
COUNT = b"/anthropic/v1/messages/count_tokens"
BODIES = {  # route -> body template: %s is a message's content, then extra members
    CHAT: b'{"model":"%s","messages":[{"role":"user","content":%s}]%s}',
    MESSAGES: b'{"model":"%s","max_tokens":5,"messages":[{"role":"user","content":%s}]%s}',
    COUNT: b'{"model":"%s","messages":[{"role":"user","content":%s}]%s}',
}


def hostile_config(upstream: str, **server: Any) -> str:
    options = ", ".join(f"{key}: {value}" for key, value in {"log_level": "info", **server}.items())
    return f"""
server: {{{options}}}
apps:
  - {{name: oa, frontdoor: openai, path: /openai}}
  - {{name: an, frontdoor: anthropic, path: /anthropic}}
providers:
  - {{name: openai, type: openai, api_key: sk-hostile-openai, base_url: "{upstream}/v1"}}
  - {{name: anthropic, type: anthropic, api_key: sk-ant-hostile, base_url: "{upstream}"}}
routing:
  rules: [{{model_prefix: claude, provider: anthropic}}]
  default_provider: openai
"""


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    upstream = FakeUpstream().start_in_thread()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def gateway(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    config = hostile_config(fake.url, header_timeout_seconds=HEADER_TIMEOUT, body_timeout_seconds=BODY_TIMEOUT)
    with launch(config, tmp_path_factory.mktemp("hostile")) as process:
        with httpx.Client(base_url=process.url) as client:  # warm up: first requests allocate
            for path, body in BODIES.items():
                client.post(path.decode(), content=body % (b"gpt-4o", b'"hi"', b""))
        yield process


@pytest.fixture
def upstream(fake: FakeUpstream) -> FakeUpstream:
    return fake.reset()


# --- helpers -------------------------------------------------------------------------------


def peak_rss_kb(gateway: GatewayProcess) -> int:
    """The peak RSS of the worker (the workers' added up, with several)."""
    total = 0
    for pid in gateway.worker_pids():
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        total += next(int(line.split()[1]) for line in lines if line.startswith("VmHWM:"))
    return total


def connect(gateway: GatewayProcess, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", gateway.port), timeout=timeout)


def read_all(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    """What the server sends until it closes (or ``limit``, or the socket's timeout)."""
    data = b""
    try:
        while len(data) < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def send_quietly(sock: socket.socket, data: bytes) -> int:
    """Send what the server will take; the bytes sent before it stopped reading."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        return -1
    return len(data)


def response(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    if headers.get("transfer-encoding") == "chunked":
        chunks, rest = [], body
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            chunks.append(rest[: int(size, 16)])
            rest = rest[int(size, 16) + 2 :]
        body = b"".join(chunks)
    return int(lines[0].split()[1]), headers, msgspec.json.decode(body) if body else None


def post(path: bytes, body: bytes, request_id: str = "hostile") -> bytes:
    return (
        b"POST %s HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\nconnection: close\r\n"
        b"x-request-id: %s\r\ncontent-length: %d\r\n\r\n%s" % (path, request_id.encode(), len(body), body)
    )


def during(gateway: GatewayProcess, attack: Callable[[], Any]) -> Any:
    """Run ``attack`` in a thread; meanwhile ``/healthz`` must answer 200 within
    ``HEALTHZ_WITHIN`` seconds, and after it the worker's peak RSS must be within ``RSS_BOUND``."""
    before = peak_rss_kb(gateway)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = attack()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    probes = 0
    with httpx.Client(base_url=gateway.url, timeout=HEALTHZ_WITHIN) as client:
        while thread.is_alive() or probes < 3:
            started = time.monotonic()
            assert client.get("/healthz", headers={"connection": "close"}).status_code == 200
            assert time.monotonic() - started < HEALTHZ_WITHIN
            probes += 1
            time.sleep(0.05)
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    assert peak_rss_kb(gateway) - before <= RSS_BOUND
    return outcome.get("result")


# --- request heads -------------------------------------------------------------------------


def test_an_endless_header_block_is_cut_off_with_431(gateway: GatewayProcess) -> None:
    def attack() -> tuple[bytes, int]:
        with connect(gateway, timeout=3) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: gw\r\nx-endless: ")
            sent, started = 0, time.monotonic()
            while time.monotonic() - started < 3:  # a fast client sends hundreds of MB in that time
                if send_quietly(sock, b"a" * 65536) < 0:
                    break
                sent += 65536
            return read_all(sock), sent

    answer, sent = during(gateway, attack)
    status, headers, body = response(answer)
    assert status == 431
    assert headers["connection"] == "close"
    assert body["error"]["message"] == "The request head is larger than 65536 bytes."
    assert sent < 8 * 1024 * 1024  # the server stopped reading long before the attacker stopped


def test_ten_thousand_header_fields_are_refused_with_431(gateway: GatewayProcess) -> None:
    def attack() -> bytes:
        with connect(gateway) as sock:
            send_quietly(sock, b"GET /healthz HTTP/1.1\r\nhost: gw\r\n" + b"x-field: 1\r\n" * 10_000 + b"\r\n")
            return read_all(sock)

    status, _, body = response(during(gateway, attack))
    assert status == 431
    assert body["error"]["message"] == "The request has more than 100 header fields."


def test_one_eight_megabyte_header_is_refused_with_431(gateway: GatewayProcess) -> None:
    def attack() -> bytes:
        with connect(gateway) as sock:
            send_quietly(sock, b"GET /healthz HTTP/1.1\r\nhost: gw\r\nx-big: " + b"b" * 8_000_000 + b"\r\n\r\n")
            return read_all(sock)

    status, _, body = response(during(gateway, attack))
    assert status == 431
    assert "65536 bytes" in body["error"]["message"]


def test_heads_at_the_limits_are_served(gateway: GatewayProcess) -> None:
    def ask(fields: bytes) -> int:
        with connect(gateway) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: gw\r\nconnection: close\r\n" + fields + b"\r\n")
            return response(read_all(sock))[0]

    assert ask(b"".join(b"x-field-%d: 1\r\n" % n for n in range(98))) == 200  # 100 fields
    assert ask(b"".join(b"x-field-%d: 1\r\n" % n for n in range(99))) == 431  # 101
    assert ask(b"x-big: " + b"b" * 64_000 + b"\r\n") == 200  # just under 64 KiB
    assert ask(b"x-big: " + b"b" * 66_000 + b"\r\n") == 431


def test_on_a_kept_alive_connection_the_next_head_has_the_same_limits(gateway: GatewayProcess) -> None:
    with connect(gateway) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: gw\r\n\r\n")
        assert b'{"status":"ok"}' in sock.recv(65536)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: gw\r\nx-big: " + b"b" * 100_000 + b"\r\n\r\n")
        assert response(read_all(sock))[0] == 431
    with connect(gateway) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: gw\r\n\r\n")
        assert b'{"status":"ok"}' in sock.recv(65536)
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # then nothing
        started = time.monotonic()
        assert response(read_all(sock))[0] == 408
        assert time.monotonic() - started < HEADER_TIMEOUT + 1.5


# --- connections that send nothing, or stop ---------------------------------------------------


def test_a_body_that_stops_coming_closes_the_connection_after_the_body_timeout(gateway: GatewayProcess) -> None:
    def attack() -> tuple[bytes, float]:
        with connect(gateway) as sock:
            sock.sendall(post(CHAT, b'{"model":"gpt-4o","messages":[' + b" " * 200)[:-150])  # then nothing
            started = time.monotonic()
            return read_all(sock), time.monotonic() - started

    answer, after = during(gateway, attack)
    assert answer == b""
    assert BODY_TIMEOUT - 0.2 < after < BODY_TIMEOUT * 2 + 1.0
    gateway.wait_log(lambda r: r.get("event") == "server.request_body_timeout")


def test_a_slow_body_that_keeps_coming_is_served(gateway: GatewayProcess, upstream: FakeUpstream) -> None:
    body = b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}'
    with connect(gateway) as sock:
        head, _, _ = post(CHAT, body).partition(b"\r\n\r\n")
        sock.sendall(head + b"\r\n\r\n")
        for start in range(0, len(body), len(body) // 5 + 1):  # a piece every 0.6 s: slower than
            time.sleep(BODY_TIMEOUT * 0.6)  # the timeout in all, never silent for as long
            sock.sendall(body[start : start + len(body) // 5 + 1])
        assert response(read_all(sock))[0] == 200


def test_silent_connections_are_closed_after_the_header_timeout(gateway: GatewayProcess) -> None:
    def attack() -> list[tuple[bytes, float]]:
        socks = [connect(gateway) for _ in range(50)]
        started = time.monotonic()
        closed = [(read_all(sock), time.monotonic() - started) for sock in socks]
        for sock in socks:
            sock.close()
        return closed

    for data, after in during(gateway, attack):
        assert data == b""  # nothing was asked: nothing is answered
        assert after < HEADER_TIMEOUT + 1.5
    gateway.wait_log(lambda r: r.get("event") == "server.request_head_timeout")


def test_a_head_that_stops_halfway_gets_408_after_the_header_timeout(gateway: GatewayProcess) -> None:
    def attack() -> tuple[bytes, float]:
        with connect(gateway) as sock:
            sock.sendall(b"POST /openai/v1/chat/completions HTTP/1.1\r\nhost: gw\r\n")
            started = time.monotonic()
            return read_all(sock), time.monotonic() - started

    answer, after = during(gateway, attack)
    status, _, body = response(answer)
    assert status == 408
    assert "did not arrive within 1 seconds" in body["error"]["message"]
    assert HEADER_TIMEOUT - 0.2 < after < HEADER_TIMEOUT + 1.5


def closed_ones(socks: list[socket.socket], timeout: float) -> list[socket.socket]:
    """Those of ``socks`` the server closed (within ``timeout`` seconds of waiting for any)."""
    readable, _, _ = select.select(socks, [], [], timeout)
    return [sock for sock in readable if sock.recv(1) == b""]


def test_beyond_the_connection_cap_the_longest_waiting_connection_makes_room(
    fake: FakeUpstream, tmp_path: Path
) -> None:
    with launch(hostile_config(fake.url, max_client_connections=8), tmp_path) as gateway:
        # Each worker has its own cap, and the kernel picks a worker per connection: connect until
        # one is at its cap (with one worker, the ninth connection).
        silent = [connect(gateway) for _ in range(8)]
        closed: list[socket.socket] = []
        for _ in range(8 * gateway.workers + 40):
            silent.append(connect(gateway))
            closed = closed_ones(silent[:-1], 0.3)
            if closed:
                break
        assert closed, "no connection was closed to make room"
        if gateway.workers == 1:
            assert closed == [silent[0]]  # the one that waited longest
        assert httpx.get(f"{gateway.url}/healthz").status_code == 200
        gateway.wait_log(lambda r: r.get("event") == "server.waiting_connection_closed")
        for sock in silent:
            sock.close()


def test_beyond_the_connection_cap_with_every_connection_busy_the_answer_is_503(
    fake: FakeUpstream, tmp_path: Path
) -> None:
    with launch(hostile_config(fake.url, max_client_connections=8), tmp_path) as gateway:
        busy: list[socket.socket] = []
        refused = b""
        for _ in range(8 * gateway.workers + 40):  # until a worker has 8 busy ones (one worker: the 9th)
            sock = connect(gateway)
            # a request in progress: its body has not come yet
            sock.sendall(b"POST /openai/v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-length: 100\r\n\r\n")
            if select.select([sock], [], [], 0.3)[0]:
                refused = read_all(sock)
                sock.close()
                break
            busy.append(sock)
        assert len(busy) >= 8
        if gateway.workers == 1:
            assert len(busy) == 8
        status, headers, body = response(refused)
        assert status == 503
        assert headers["retry-after"] == "1"
        assert body["error"]["type"] == "overloaded_error"
        record = gateway.wait_log(lambda r: r.get("event") == "server.connection_refused")
        assert record["max_client_connections"] == 8
        for sock in busy:
            sock.close()
        time.sleep(0.2)
        assert httpx.get(f"{gateway.url}/healthz").status_code == 200


# --- what a request says -------------------------------------------------------------------


@pytest.mark.parametrize("route", list(BODIES), ids=["chat", "messages", "count_tokens"])
@pytest.mark.parametrize(
    "model", [b"gpt\\r\\nX-Injected: yes", b"claude\\u0000x", b"gpt\\nx"], ids=["crlf", "nul", "lf"]
)
def test_a_model_name_with_control_characters_never_reaches_the_upstream(
    gateway: GatewayProcess, upstream: FakeUpstream, route: bytes, model: bytes
) -> None:
    def attack() -> bytes:
        with connect(gateway) as sock:
            sock.sendall(post(route, BODIES[route] % (model, b'"hi"', b""), "control-model"))
            return read_all(sock)

    status, headers, body = response(during(gateway, attack))
    assert status == 400  # it was: the upstream called, then zero bytes and a 200 in the log
    assert "x-injected" not in headers
    message = body["error"]["message"]
    assert "'model'" in message and "control" in message
    if route == CHAT:
        assert body["error"]["param"] == "model"
    assert upstream.requests == []
    assert gateway.access_log("control-model")["status"] == 400


@pytest.mark.parametrize("route", list(BODIES), ids=["chat", "messages", "count_tokens"])
def test_invalid_utf8_in_a_string_is_a_400(gateway: GatewayProcess, upstream: FakeUpstream, route: bytes) -> None:
    def attack() -> bytes:
        with connect(gateway) as sock:
            sock.sendall(post(route, BODIES[route] % (b"claude-x", b'"h\xff\xfei"', b"")))
            return read_all(sock)

    status, _, body = response(during(gateway, attack))
    assert status == 400
    assert "not valid UTF-8" in body["error"]["message"]
    assert upstream.requests == []


@pytest.mark.parametrize("route", list(BODIES), ids=["chat", "messages", "count_tokens"])
def test_json_nested_a_thousand_deep_is_a_400(gateway: GatewayProcess, upstream: FakeUpstream, route: bytes) -> None:
    deep = b',"metadata":' + b'{"a":' * 1000 + b"1" + b"}" * 1000

    def attack() -> bytes:
        with connect(gateway) as sock:
            sock.sendall(post(route, BODIES[route] % (b"claude-x", b'"hi"', deep)))
            return read_all(sock)

    status, _, body = response(during(gateway, attack))
    assert status == 400
    assert "more than 128 levels deep" in body["error"]["message"]
    assert upstream.requests == []
