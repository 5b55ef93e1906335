"""Several worker processes: each listens on a socket of its own, and the kernel spreads the
connections over them."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import pytest

from app.workers import BALANCES
from tests.e2e.launcher import ESTABLISHED, LISTENING, launch, tcp_sockets
from tests.e2e.test_signals import signals_config
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.skipif(not BALANCES, reason="a listener per worker only where SO_REUSEPORT balances")


def healthz(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: gw\r\n\r\n")
    return sock.recv(4096)


def test_two_workers_each_take_a_share_of_the_connections_on_listeners_of_their_own(tmp_path: Path) -> None:
    upstream = FakeUpstream().start_in_thread()
    try:
        with launch(signals_config(upstream.url), tmp_path, workers=2) as gateway:
            assert gateway.process is not None
            pids = gateway.worker_pids()
            assert len(pids) == 2
            assert [tcp_sockets(pid, gateway.port, LISTENING) for pid in pids] == [1, 1]
            assert tcp_sockets(gateway.process.pid, gateway.port, LISTENING) == 0  # it only holds the port
            clients = [socket.create_connection(("127.0.0.1", gateway.port), timeout=5) for _ in range(40)]
            try:
                # Counted as soon as the workers have accepted them all, well inside the header
                # timeout (an idle keep-alive connection would be closed after 5 s on a slow run).
                deadline = time.monotonic() + 5
                held = [tcp_sockets(pid, gateway.port, ESTABLISHED) for pid in pids]
                while sum(held) < 40 and time.monotonic() < deadline:
                    time.sleep(0.05)
                    held = [tcp_sockets(pid, gateway.port, ESTABLISHED) for pid in pids]
                assert sum(held) == 40, held
                assert min(held) > 0, held  # all 40 on one of two: a chance of 2 in 2**40
                assert all(healthz(sock).startswith(b"HTTP/1.1 200") for sock in clients)
            finally:
                for sock in clients:
                    sock.close()
            gateway.signal(signal.SIGTERM)
            assert gateway.wait(10) == 0
            assert len(gateway.logs("app.stopped")) == 2  # each worker shut its app down
    finally:
        upstream.stop()
