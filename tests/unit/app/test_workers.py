"""Each worker's own listener on the supervisor's address (``SO_REUSEPORT``)."""

from __future__ import annotations

import pickle
import socket

import pytest

from app.workers import BALANCES, hold_address

pytestmark = pytest.mark.skipif(not BALANCES, reason="SO_REUSEPORT balances connections only on Linux")


def test_the_held_address_becomes_a_listener_of_its_own_in_each_worker() -> None:
    with hold_address("127.0.0.1", 0) as hold:
        port = hold.getsockname()[1]
        first, second = pickle.loads(pickle.dumps(hold)), pickle.loads(pickle.dumps(hold))
        with first, second:
            assert first.fileno() != second.fileno() != hold.fileno()
            for sock in (first, second):
                assert sock.getsockname() == ("127.0.0.1", port)
                assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
                sock.listen()
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                pass  # one of the two listeners took it; the held socket never listens


def test_an_address_another_program_listens_on_is_refused_before_any_worker_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            hold_address("127.0.0.1", taken.getsockname()[1])
