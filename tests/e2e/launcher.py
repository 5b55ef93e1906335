"""Start the gateway for a test with a config of the test's own: as a real process (signals,
stdout access log) or in the test's event loop (task counting).

``GatewayProcess`` runs ``python -m app`` on a free loopback port, its stdout (JSON log lines)
in a file the test can read while it runs; the process dies with its parent and is stopped by
the context manager (``launch``). ``serve_in_process`` runs ``uvicorn.Server`` over
``build_asgi`` as a task of the running loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import httpx
import msgspec
import openai

from tests.e2e.conftest import ROOT, _die_with_parent, free_port, isolated_env

Record = dict[str, Any]


def write_config(path: Path, text: str) -> None:
    """Replace the config file atomically (a watcher never reads half a file)."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


@dataclass
class GatewayProcess:
    config: Path
    log_path: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    # Variables added to the gateway's environment. Its .env file is the one beside the config
    # (GATEWAY_ENV_FILE), so a developer's own .env never reaches a test.
    env: dict[str, str] = field(default_factory=dict)
    # Worker processes (``pytest --gateway-workers N`` runs every launched gateway with N).
    workers: int = field(default_factory=lambda: int(os.environ.get("TEST_GATEWAY_WORKERS", "1")))
    _log_file: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- clients ---------------------------------------------------------------------------
    # SDK clients of the app mounted at ``path``: no SDK retries, a 10 s timeout unless overridden.
    def openai(self, path: str = "/openai", **options: Any) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}{path}/v1", **_sdk_options(options))

    def anthropic(self, path: str = "/anthropic", **options: Any) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=f"{self.url}{path}", **_sdk_options(options))

    def async_openai(self, path: str = "/openai", **options: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=f"{self.url}{path}/v1", **_sdk_options(options))

    def async_anthropic(self, path: str = "/anthropic", **options: Any) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url=f"{self.url}{path}", **_sdk_options(options))

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> GatewayProcess:
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "--config", str(self.config), "--host", "127.0.0.1",
             "--port", str(self.port), *(["--workers", str(self.workers)] if self.workers > 1 else [])],
            cwd=ROOT, stdout=self._log_file, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
            env={**isolated_env(), "GATEWAY_ENV_FILE": str(self.config.parent / ".env"), **self.env},
        )
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(httpx.HTTPError, OSError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200 and self._all_listening():
                    return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gateway did not start:\n{self.log_path.read_text()}")
            time.sleep(0.05)

    def worker_pids(self) -> list[int]:
        """The processes that serve: the gateway's own, or its worker processes."""
        assert self.process is not None
        if self.workers == 1:
            return [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]

    def _all_listening(self) -> bool:
        """Every worker listens (one answering is not all of them ready)."""
        if self.workers == 1:
            return True
        pids = self.worker_pids()
        return len(pids) == self.workers and all(tcp_sockets(pid, self.port, LISTENING) for pid in pids)

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code (None if it had to be killed)."""
        code = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                code = self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        elif self.process is not None:
            code = self.process.returncode
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    # ---- the log -----------------------------------------------------------------------------
    def logs(self, event: str | None = None) -> list[Record]:
        """The JSON log lines written so far (non-JSON lines skipped), optionally one event's."""
        records = []
        for line in self.log_path.read_bytes().splitlines():
            try:
                record = msgspec.json.decode(line)
            except msgspec.DecodeError:
                continue
            if isinstance(record, dict) and (event is None or record.get("event") == event):
                records.append(record)
        return records

    def wait_log(self, predicate: Callable[[Record], bool], timeout: float = 5.0, count: int = 1) -> Record:
        """The ``count``-th log line satisfying ``predicate``, polling until ``timeout``. Each
        worker process writes its own lines: ``count=gateway.workers`` waits for all of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [record for record in self.logs() if predicate(record)]
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline:
                tail = self.log_path.read_text()[-4000:]
                raise AssertionError(f"no such log line within {timeout} s; the log ends with:\n{tail}")
            time.sleep(0.02)

    def access_log(self, request_id: str, timeout: float = 5.0) -> Record:
        """The ``request.completed`` line of one request (by its ``x-request-id``)."""
        return self.wait_log(
            lambda r: r.get("event") == "request.completed" and r.get("request_id") == request_id, timeout
        )


LISTENING, ESTABLISHED = "0A", "01"


def tcp_sockets(pid: int, port: int, state: str) -> int:
    """How many of ``pid``'s TCP sockets on local ``port`` are in ``state`` (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            inodes.add(os.readlink(f"/proc/{pid}/fd/{fd}").removeprefix("socket:[").removesuffix("]"))
    count = 0
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == state and fields[9] in inodes and int(fields[1].rsplit(":", 1)[1], 16) == port:
            count += 1
    return count


def _sdk_options(options: dict[str, Any]) -> dict[str, Any]:
    return {"api_key": "client-key", "max_retries": 0, "timeout": 10, **options}


@contextlib.contextmanager
def launch(
    config_text: str, workdir: Path, env: dict[str, str] | None = None, workers: int | None = None
) -> Iterator[GatewayProcess]:
    """A running gateway with ``config_text`` (written to ``workdir/config.yaml``; its .env file
    is ``workdir/.env``) and ``env`` added to its environment, stopped after; ``workers``
    processes if given (else ``--gateway-workers``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "config.yaml"
    write_config(config, config_text)
    gateway = GatewayProcess(config=config, log_path=workdir / "gateway.log", port=free_port(), env=env or {})
    if workers is not None:
        gateway.workers = workers
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


@contextlib.asynccontextmanager
async def serve_in_process(config_text: str, workdir: Path, gateway_http: bool = False) -> AsyncIterator[str]:
    """``uvicorn.Server`` over ``build_asgi`` as a task of the running loop; yields its URL.
    ``gateway_http``: with the server's own protocol (``app/server.py``) instead of uvicorn's."""
    import uvicorn

    from app.asgi import build_asgi
    from app.server import gateway_protocol
    from infrastructure.config.loader import load_config

    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "config.yaml"
    write_config(config, config_text)
    port = free_port()
    loaded = load_config(config)
    app = build_asgi(loaded)
    http: Any = gateway_protocol(loaded.config.server) if gateway_http else "auto"
    server = uvicorn.Server(
        uvicorn.Config(app=app, host="127.0.0.1", port=port, lifespan="on", log_config=None, http=http)
    )
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign] - pytest keeps its signals
    task = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if task.done() or time.monotonic() > deadline:
                raise RuntimeError("in-process gateway did not start")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
