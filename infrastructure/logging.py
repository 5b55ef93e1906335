"""structlog logs to stdout, stdlib logs (uvicorn) the same way: JSON lines rendered with
msgspec, or structlog's console renderer for a person reading a terminal
(``server.log_format``: ``auto`` picks console when stdout is a terminal, else JSON).

Level and format can change while the process runs (a reload): loggers are cached on first
use, so the level lives in the methods of the one logger class every cached logger is an
instance of (a level's methods swapped in, the others made no-ops, as structlog's filtering
loggers do), and the format in the last processor, which renders with the current choice.

Lines go through one buffer (``LineBuffer``) instead of a write and a flush per line. A line
logged while an event loop runs in this thread is written when the loop next gets round to it
(``call_soon``: after the callbacks already queued, so under load one write carries the lines
of every request that ended in the same pass, and at rest a line waits microseconds). A line
logged with no running loop (start-up, shutdown, other threads), every stdlib record (uvicorn's
own messages: ordering with them stays exact), and a buffer over ``LineBuffer.LIMIT`` bytes are
written at once with everything before them; the buffer is also written at exit
(``atexit``) and by ``flush_logs()``. So a clean shutdown, SIGTERM or reload loses no line, and
a process killed outright loses at most the lines of one loop pass.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import sys
import threading
import time
from asyncio import AbstractEventLoop
from asyncio.events import _get_running_loop
from collections.abc import Callable, MutableMapping
from typing import Any, BinaryIO, Literal

import msgspec
import structlog

_encoder = msgspec.json.Encoder(enc_hook=repr)

# Tracebacks as JSON, without local variables: locals may hold keys or message bodies.
_tracebacks = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
)


class LineBuffer:
    """Log lines on their way to a binary file, written in batches (see the module docstring)."""

    LIMIT = 64 * 1024  # bytes held before a write regardless of the loop

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self._lines: list[bytes] = []
        self._size = 0
        self._lock = threading.Lock()
        self._scheduled: AbstractEventLoop | None = None  # the loop a flush is queued on

    def write(self, line: bytes) -> None:
        """Queue one line (without its newline)."""
        loop = _get_running_loop()
        with self._lock:
            self._lines.append(line)
            self._size += len(line) + 1
            if loop is not None and self._size < self.LIMIT:
                if self._scheduled is not loop:
                    self._scheduled = loop
                    loop.call_soon(self.flush)
                return
        self.flush()

    def write_now(self, line: bytes) -> None:
        """Write everything queued, then ``line``, before returning."""
        with self._lock:
            self._lines.append(line)
            self._size += len(line) + 1
        self.flush()

    def flush(self) -> None:
        with self._lock:
            self._scheduled = None
            if not self._lines:
                return
            data = b"\n".join(self._lines) + b"\n"
            self._lines.clear()
            self._size = 0
            try:
                self.file.write(data)
                self.file.flush()
            except (OSError, ValueError):  # stdout closed or gone: nothing left to tell
                pass

    # structlog calls the logger method named for the level.
    msg = log = debug = info = warn = warning = write
    fatal = failure = err = error = critical = exception = write


_buffer: LineBuffer | None = None


def flush_logs() -> None:
    """Write every queued log line now (lifespan shutdown, exit)."""
    if _buffer is not None:
        _buffer.flush()


def _buffer_for(file: BinaryIO) -> LineBuffer:
    global _buffer
    if _buffer is None:
        _buffer = LineBuffer(file)
        atexit.register(flush_logs)
    elif _buffer.file is not file:
        _buffer.flush()
        _buffer.file = file
    return _buffer


# structlog's ``add_log_level`` names: a method's own name, but for these two
_LEVEL_NAMES = {"warn": "warning", "exception": "error"}


class _LevelAndStamp:
    """``level`` as structlog's ``add_log_level`` writes it, then ``ts``: UTC ISO 8601 with
    microseconds and ``Z``, exactly as structlog's ``TimeStamper(fmt="iso", utc=True)`` writes it,
    with the date and time formatted once a second. One processor for both: one call less per line."""

    __slots__ = ("prefix", "second")

    def __init__(self) -> None:
        self.second = -1
        self.prefix = ""

    def __call__(self, _logger: Any, name: str, event: dict[str, Any]) -> dict[str, Any]:
        event["level"] = _LEVEL_NAMES.get(name, name)
        micros = time.time_ns() // 1000
        second, fraction = divmod(micros, 1_000_000)
        if second != self.second:
            self.prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self.second = second
        event["ts"] = f"{self.prefix}.{fraction:06d}Z" if fraction else f"{self.prefix}Z"
        return event


LogFormat = Literal["auto", "json", "console"]


def _json(logger: Any, name: str, event: dict[str, Any]) -> bytes:
    if "exc_info" in event:  # without one the renderer would change nothing: skipped on every line
        return _encoder.encode(_tracebacks(logger, name, event))
    return _encoder.encode(event)


class _Output:
    """The last processor: renders an event with the format chosen by ``configure_logging``."""

    __slots__ = ("render",)

    def __init__(self) -> None:
        self.render: Any = _json

    def __call__(self, logger: Any, name: str, event: MutableMapping[str, Any]) -> bytes:
        render: Callable[[Any, str, MutableMapping[str, Any]], bytes] = self.render
        return render(logger, name, event)


_output = _Output()


class GatewayLogger(structlog.BoundLoggerBase):
    """The wrapper class of every gateway logger; ``_set_level`` gives it its methods."""


def _set_level(numeric: int) -> None:
    filtering = structlog.make_filtering_bound_logger(numeric)
    for attribute, value in vars(filtering).items():
        if not attribute.startswith("__"):
            setattr(GatewayLogger, attribute, value)


_set_level(logging.INFO)


def _console_renderer(colors: bool) -> structlog.dev.ConsoleRenderer:
    formatter: Any = structlog.dev.plain_traceback
    if colors:
        with contextlib.suppress(ImportError):
            import rich  # noqa: F401 - draws tracebacks better; never with locals (they may hold keys)

            formatter = structlog.dev.RichTracebackFormatter(show_locals=False)
    return structlog.dev.ConsoleRenderer(colors=colors, timestamp_key="ts", exception_formatter=formatter)


def use_console(log_format: LogFormat, stream: Any) -> bool:
    """Whether ``log_format`` means the console renderer for lines written to ``stream``."""
    if log_format == "auto":
        return _isatty(stream)
    return log_format == "console"


def _isatty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    _LevelAndStamp(),
]


class _StdlibHandler(logging.Handler):
    """stdlib records (uvicorn's), rendered like structlog's lines, written at once after
    whatever structlog lines are queued."""

    def __init__(self, buffer: LineBuffer, formatter: logging.Formatter) -> None:
        super().__init__()
        self.buffer = buffer
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.buffer.write_now(self.format(record).encode())
        except Exception:  # noqa: BLE001 - logging must not raise
            self.handleError(record)


def configure_logging(level: str = "info", log_format: LogFormat = "auto") -> None:
    """Idempotent, and callable again to change level or format: one line per event on stdout,
    keys ``ts``, ``level``, ``event``, then the event's own."""
    numeric = logging.getLevelNamesMapping()[level.upper()]
    buffer = _buffer_for(sys.stdout.buffer)
    console = use_console(log_format, sys.stdout)
    _set_level(numeric)
    if console:
        renderer = _console_renderer(colors=_isatty(sys.stdout))
        _output.render = lambda logger, name, event: renderer(logger, name, event).encode()
        final: list[Any] = [renderer]
    else:
        _output.render = _json
        final = [
            _tracebacks,
            structlog.processors.JSONRenderer(serializer=lambda e, **_: _encoder.encode(e).decode()),
        ]
    structlog.configure(
        processors=[*_SHARED, _output],
        wrapper_class=GatewayLogger,
        logger_factory=lambda *_: buffer,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    root = logging.getLogger()
    root.handlers[:] = [_StdlibHandler(buffer, formatter)]
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our access log replaces uvicorn's. With no handler anywhere up its chain, uvicorn sees
    # ``hasHandlers() == False`` and skips formatting the client address and quoted path of
    # every request for a logger that is disabled anyway.
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    access.disabled = True
