"""Several worker processes, each listening on a socket of its own bound to the same address
with ``SO_REUSEPORT``: the kernel spreads new connections over the workers' sockets by a hash
of each connection's addresses, instead of letting whichever worker wakes first accept from one
shared socket (the busiest worker then took 1.4-1.5x the other's share).

uvicorn's supervisor (``Multiprocess``) runs the workers: it restarts a worker that dies and
stops them all, each draining its requests, on SIGTERM or SIGINT. Two things differ from
``uvicorn.run(workers=N)``:

- the supervisor holds the address (a socket bound with ``SO_REUSEPORT``, never listening, so it
  is never given a connection): a port already taken fails before any worker starts, port 0
  picks one port for all of them, and no other program can bind it without ``SO_REUSEPORT``.
  Handed to a worker, that socket becomes the worker's own listener on the same address.
- SIGHUP is passed on to every worker, which reloads its config in place (``app.reload``), as a
  single process does; uvicorn would replace the workers instead.

Where ``SO_REUSEPORT`` does not balance (it exists only on Linux for this), ``uvicorn.run`` and
its one shared socket serve.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from typing import Any, cast

from uvicorn import Config
from uvicorn.supervisors.multiprocess import Multiprocess

BALANCES = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")

logger = logging.getLogger("uvicorn.error")


class AddressHold(socket.socket):
    """The supervisor's socket on the address. Pickled for a worker process, it becomes a new
    socket of that worker's, bound to the same address (``_worker_listener``)."""

    def __reduce__(self) -> tuple[Any, ...]:
        host, port = self.getsockname()[:2]
        return _worker_listener, (int(self.family), host, port)


def _reuse_port(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)


def hold_address(host: str, port: int) -> AddressHold:
    """Bind (without listening) ``host:port`` with ``SO_REUSEPORT``; OSError if it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = AddressHold(family, socket.SOCK_STREAM)
    try:
        _reuse_port(sock)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker_listener(family: int, host: str, port: int) -> socket.socket:
    """In a worker process, as it starts: its own socket on the supervisor's address (uvicorn
    makes it listen). SIGHUP is ignored until the app sets its reload handler, so a reload
    asked for while the worker starts does not end it."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sock = socket.socket(family, socket.SOCK_STREAM)
    _reuse_port(sock)
    sock.bind((host, port))
    return sock


class _Supervisor(Multiprocess):
    def handle_hup(self) -> None:
        logger.info("Received SIGHUP, passing it on to the workers.")
        for process in self.processes:
            if process.pid is not None and process.process.is_alive():
                os.kill(process.pid, signal.SIGHUP)


def serve_workers(config: Config) -> None:
    """Run ``config.workers`` worker processes of ``config`` (its app an import string), each
    with its own ``SO_REUSEPORT`` listener; returns when they have all stopped."""
    try:
        hold = hold_address(config.host, config.port)
    except OSError as exc:
        logger.error(exc)
        sys.exit(3)  # uvicorn's STARTUP_FAILURE
    with hold:
        host, port = hold.getsockname()[:2]
        shown = f"[{host}]" if hold.family == socket.AF_INET6 else host
        logger.info(
            "Uvicorn running on http://%s:%d (Press CTRL+C to quit); %d workers, each with its own listener",
            shown, port, config.workers,
        )  # fmt: skip
        _Supervisor(config, sockets=[cast(socket.socket, hold)]).run()
