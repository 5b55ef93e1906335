"""JSON log lines through one buffer: batched within a loop pass, never lost at exit, in order
with uvicorn's own (stdlib) records, with the same fields and timestamp format as before."""

from __future__ import annotations

import asyncio
import datetime
import io
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest
import structlog

from infrastructure import logging as gateway_logging
from infrastructure.logging import LineBuffer, configure_logging, flush_logs

ROOT = Path(__file__).resolve().parents[3]


class CountingFile(io.BytesIO):
    """A binary file that counts its writes (each one a syscall on a real stdout)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writes += 1
        return super().write(data)

    def lines(self) -> list[bytes]:
        return self.getvalue().splitlines()


class FakeStdout:
    def __init__(self, tty: bool = False) -> None:
        self.buffer = CountingFile()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def stdout(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingFile]:
    """configure_logging() writing to a file of the test's, undone afterwards."""
    fake = FakeStdout()
    monkeypatch.setattr(sys, "stdout", fake)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    access = logging.getLogger("uvicorn.access")
    access_state = (access.handlers[:], access.propagate, access.disabled)
    configure_logging("info")
    structlog.configure(cache_logger_on_first_use=False)  # loggers of other tests stay uncached
    yield fake.buffer
    flush_logs()
    structlog.reset_defaults()
    root.handlers[:], root.level = handlers, level
    access.handlers[:], access.propagate, access.disabled = access_state


def test_a_line_logged_without_a_running_loop_is_written_at_once() -> None:
    file = CountingFile()
    LineBuffer(file).info(b'{"event":"a"}')
    assert file.lines() == [b'{"event":"a"}']


async def test_lines_of_one_loop_pass_go_out_in_one_write_right_after_it() -> None:
    file = CountingFile()
    buffer = LineBuffer(file)
    for n in range(5):
        buffer.info(b'{"n":%d}' % n)
    assert file.writes == 0
    await asyncio.sleep(0)
    assert file.writes == 1
    assert file.lines() == [b'{"n":%d}' % n for n in range(5)]


async def test_a_full_buffer_is_written_without_waiting_for_the_loop() -> None:
    file = CountingFile()
    buffer = LineBuffer(file)
    line = b"x" * 1000
    for _ in range(LineBuffer.LIMIT // 1000 + 1):
        buffer.info(line)
    assert file.writes == 1 and len(file.lines()) == LineBuffer.LIMIT // 1000 + 1


def test_a_flush_queued_on_a_loop_that_closed_does_not_hold_later_lines() -> None:
    file = CountingFile()
    buffer = LineBuffer(file)
    other = asyncio.new_event_loop()

    def log_and_stop() -> None:
        buffer.info(b'{"n":1}')
        other.stop()  # the queued flush never runs on this loop

    other.call_soon(log_and_stop)
    other.run_forever()
    other.close()
    assert file.lines() == []

    async def log_again() -> None:
        buffer.info(b'{"n":2}')
        await asyncio.sleep(0)

    asyncio.run(log_again())
    assert file.lines() == [b'{"n":1}', b'{"n":2}']


async def test_structlog_lines_are_json_with_the_usual_keys(stdout: CountingFile) -> None:
    structlog.get_logger("t").info("request.completed", request_id="r1", status=200, duration_ms=1.5)
    await asyncio.sleep(0)
    (line,) = stdout.lines()
    record = msgspec.json.decode(line)
    assert list(record) == ["request_id", "status", "duration_ms", "event", "level", "ts"]
    assert (record["event"], record["level"], record["status"]) == ("request.completed", "info", 200)


async def test_uvicorn_records_come_after_the_lines_logged_before_them(stdout: CountingFile) -> None:
    structlog.get_logger("t").info("app.started")
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    # written at once, queued line first, without waiting for the loop
    events = [msgspec.json.decode(line)["event"] for line in stdout.lines()]
    assert events == ["app.started", "Application startup complete."]
    assert msgspec.json.decode(stdout.lines()[1])["logger"] == "uvicorn.error"


async def test_flush_logs_writes_what_is_queued(stdout: CountingFile) -> None:
    structlog.get_logger("t").warning("upstream.failed", provider="p")
    assert stdout.lines() == []
    flush_logs()
    assert msgspec.json.decode(stdout.lines()[0])["level"] == "warning"


Configure = Callable[..., FakeStdout]


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """``configure(level, format, tty=...)``: logging set up, within the test itself (pytest puts
    its own stdout back between a fixture and the test), on a fake stdout; undone afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def configure_on(level: str, log_format: str, *, tty: bool, cache: bool = False) -> FakeStdout:
        fake = FakeStdout(tty=tty)
        monkeypatch.setattr(sys, "stdout", fake)
        configure_logging(level, log_format)  # type: ignore[arg-type]
        if not cache:
            structlog.configure(cache_logger_on_first_use=False)  # other tests' loggers stay uncached
        return fake

    yield configure_on
    flush_logs()
    structlog.reset_defaults()
    root.handlers[:], root.level = handlers, level


def test_auto_format_is_the_console_renderer_on_a_terminal(configure: Configure) -> None:
    terminal = configure("info", "auto", tty=True)
    structlog.get_logger("t").info("request.completed", status=200)
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    flush_logs()
    first, second = terminal.buffer.getvalue().decode().splitlines()
    assert "request.completed" in first and "status" in first and "\x1b[" in first  # coloured
    assert not first.startswith("{")
    assert "Application startup complete." in second and "uvicorn.error" in second


def test_auto_format_is_json_off_a_terminal(configure: Configure) -> None:
    file = configure("info", "auto", tty=False)
    structlog.get_logger("t").info("request.completed", status=200)
    flush_logs()
    assert msgspec.json.decode(file.buffer.lines()[0])["status"] == 200


def test_json_format_is_kept_on_a_terminal_when_asked_for(configure: Configure) -> None:
    terminal = configure("info", "json", tty=True)
    structlog.get_logger("t").info("request.completed", status=200)
    flush_logs()
    assert msgspec.json.decode(terminal.buffer.lines()[0])["status"] == 200


def test_console_format_off_a_terminal_has_no_colours(configure: Configure) -> None:
    file = configure("info", "console", tty=False)
    structlog.get_logger("t").info("request.completed", status=200)
    flush_logs()
    (line,) = file.buffer.lines()
    assert b"request.completed" in line and b"\x1b[" not in line and not line.startswith(b"{")


def test_console_tracebacks_never_show_local_variables(configure: Configure) -> None:
    terminal = configure("info", "console", tty=True)
    api_key = "-".join(["sk", "local", "secret"])  # in a local variable only, not in the source shown
    try:
        raise RuntimeError(f"failed with a key of {len(api_key)} characters")
    except RuntimeError as exc:
        structlog.get_logger("t").error("request.failed", exc_info=exc)
    flush_logs()
    text = terminal.buffer.getvalue().decode()
    assert "RuntimeError" in text and "sk-local-secret" not in text


def test_a_new_level_and_format_apply_to_loggers_already_in_use(configure: Configure) -> None:
    file = configure("info", "json", tty=False, cache=True)  # cached on first use, as in the server
    log = structlog.get_logger("cached")
    log.info("first")
    configure_logging("warning", "console")
    log.info("dropped")
    log.warning("second")
    configure_logging("debug", "json")
    log.debug("third")
    flush_logs()
    lines = file.buffer.lines()
    assert msgspec.json.decode(lines[0])["event"] == "first"
    assert b"second" in lines[1] and not lines[1].startswith(b"{")
    assert msgspec.json.decode(lines[2])["event"] == "third"
    assert len(lines) == 3


def test_uvicorn_access_logger_has_no_handler_so_uvicorn_skips_it(stdout: CountingFile) -> None:
    from _pytest.logging import LogCaptureHandler  # pytest's own, added while a test runs

    access = logging.getLogger("uvicorn.access")
    ours = [h for h in access.handlers if not isinstance(h, LogCaptureHandler)]
    assert ours == [] and not access.propagate and access.disabled


@pytest.mark.parametrize("micros", [0, 7, 999_999, 123_456])
def test_timestamps_are_formatted_as_structlog_formats_them(
    monkeypatch: pytest.MonkeyPatch, micros: int
) -> None:
    seconds = 1_795_000_000
    monkeypatch.setattr(gateway_logging.time, "time_ns", lambda: (seconds * 1_000_000 + micros) * 1000 + 999)
    stamp = gateway_logging._LevelAndStamp()
    ours = stamp(None, "info", {})["ts"]
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc).replace(microsecond=micros)
    assert ours == moment.isoformat().replace("+00:00", "Z")


_CHILD = textwrap.dedent(
    """
    import asyncio, signal, sys, time
    import structlog
    from infrastructure.logging import configure_logging
    configure_logging("info")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # as python -m app does
    log = structlog.get_logger("t")

    async def main():
        for n in range(2000):
            log.info("line", n=n)
        if sys.argv[1] == "exit":
            sys.exit(0)  # within the loop pass that queued them
        log.info("ready")
        await asyncio.sleep(0)
        for n in range(2000, 2100):
            log.info("line", n=n)
        print("ready", file=sys.stderr, flush=True)
        time.sleep(30)  # the loop blocked: the last lines are still queued at SIGTERM

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("how", ["exit", "sigterm"])
def test_no_line_is_lost_when_the_process_exits_or_gets_sigterm(how: str, tmp_path: Path) -> None:
    log_path = tmp_path / "out.log"
    with log_path.open("wb") as out:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, how], cwd=ROOT, stdout=out,
                                 stderr=subprocess.PIPE)  # fmt: skip
        if how == "sigterm":
            assert child.stderr is not None
            assert child.stderr.readline() == b"ready\n"
            child.terminate()
        child.communicate(timeout=20)
    records = map(msgspec.json.decode, log_path.read_bytes().splitlines())
    numbers = [r["n"] for r in records if r["event"] == "line"]
    expected = 2100 if how == "sigterm" else 2000
    assert numbers == list(range(expected)) and child.returncode == 0


@pytest.mark.parametrize("method", ["debug", "info", "warn", "warning", "error", "exception", "critical", "msg"])
def test_levels_are_named_as_structlog_names_them(method: str) -> None:
    ours = gateway_logging._LevelAndStamp()(None, method, {})
    assert list(ours) == ["level", "ts"]
    assert ours["level"] == structlog.processors.add_log_level(None, method, {})["level"]
