"""Per-worker bookkeeping of client connections for the server's limits.

``ConnectionLimits`` are the numbers (from ``server.*`` config). ``Registry`` is one worker's
view: which connections wait for a request head (the ones that may be closed to make room),
and a rate-limited warning per kind of refusal. ``refusal`` renders the short answer a
connection gets before the server stops reading it (431, 408, 503), and ``open_files_budget``
fits the connection cap to the process's limit on open files.
"""

from __future__ import annotations

import asyncio
import http
import resource
from dataclasses import dataclass, field
from typing import Any

import msgspec
import structlog

log = structlog.get_logger("gateway.server")

_encode = msgspec.json.Encoder().encode
FILES_RESERVED = 64  # descriptors kept for logs, listeners, DNS and the like
LOG_EVERY = 1.0  # seconds: at most one warning per kind and worker this often


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_bytes: int = 64 * 1024  # request line and header fields
    max_header_fields: int = 100
    header_timeout: float = 10.0  # seconds to send a complete request head
    body_timeout: float = 60.0  # seconds a request body may send nothing
    max_connections: int = 4096  # open client connections per worker
    linger: float = 1.0  # seconds a refused connection is read (and dropped) before it closes
    linger_bytes: int = 1024 * 1024  # or this much of it


def refusal(status: int, message: str, kind: str, *extra: bytes) -> bytes:
    """A complete ``connection: close`` response with a JSON error body."""
    body = _encode({"error": {"message": message, "type": kind}})
    phrase = http.HTTPStatus(status).phrase.encode()
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\n" % (status, phrase),
            b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body),
            *extra,
            b"connection: close\r\n\r\n",
            body,
        )
    )


class _Tally:
    """One kind of refusal: a warning at once, then at most one per ``LOG_EVERY`` seconds,
    counting the refusals it stands for."""

    __slots__ = ("_event", "_fields", "_loop", "_pending", "_scheduled")

    def __init__(self, event: str, loop: asyncio.AbstractEventLoop) -> None:
        self._event = event
        self._loop = loop
        self._pending = 0
        self._fields: dict[str, Any] = {}
        self._scheduled = False

    def note(self, **fields: Any) -> None:
        self._pending += 1
        self._fields = fields
        if not self._scheduled:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            self._scheduled = False
            return
        log.warning(self._event, count=self._pending, **self._fields)
        self._pending = 0
        self._scheduled = True
        self._loop.call_later(LOG_EVERY, self._flush)


@dataclass(slots=True)
class Registry:
    """One worker's connections waiting for a request head, oldest first, and its tallies."""

    loop: asyncio.AbstractEventLoop
    waiting: dict[Any, None] = field(default_factory=dict)  # protocol -> None, insertion order
    lingering: int = 0
    tallies: dict[tuple[str, Any], _Tally] = field(default_factory=dict)  # by event and reason

    @classmethod
    def of(cls, server_state: Any, loop: asyncio.AbstractEventLoop) -> Registry:
        """The registry of a uvicorn server (kept on its shared ``ServerState``)."""
        registry = getattr(server_state, "gateway_registry", None)
        if registry is None:
            registry = cls(loop)
            server_state.gateway_registry = registry
        return registry

    def oldest_waiting(self) -> Any | None:
        for protocol in self.waiting:
            return protocol
        return None

    def note(self, event: str, **fields: Any) -> None:
        """Count one refusal (a warning at once, or folded into the next one)."""
        key = (event, fields.get("reason"))
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = _Tally(event, self.loop)
        tally.note(**fields)


def open_files_budget(max_connections: int) -> int:
    """The connection cap this process can honour: each client connection may hold an upstream
    one too, so the soft limit on open files is raised (up to the hard limit) to twice the cap
    plus ``FILES_RESERVED``; where it cannot go that high, the cap is lowered to fit, with a
    warning."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * max_connections + FILES_RESERVED
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return max_connections
    fitted = max(1, (soft - FILES_RESERVED) // 2)
    log.warning(
        "server.max_client_connections_lowered",
        configured=max_connections,
        used=fitted,
        open_files_limit=soft,
        reason="two descriptors per client connection (client and upstream) must fit the open files limit",
    )
    return fitted
