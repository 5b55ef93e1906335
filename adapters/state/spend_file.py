"""Usage and spend of the in-process store, kept in a small SQLite file so a restart keeps them.

Each write adds what was counted since the last one (an upsert adding deltas), so several
worker processes writing the same file each add their own share and none overwrites another.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

UsageRow = tuple[str, str, int, int, int, float]  # key, period label, requests, input, output, usd

_SCHEMA = """CREATE TABLE IF NOT EXISTS usage (
    key TEXT NOT NULL, period TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
    spend_usd REAL NOT NULL DEFAULT 0, PRIMARY KEY (key, period))"""
_ADD = """INSERT INTO usage (key, period, requests, input_tokens, output_tokens, spend_usd)
    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key, period) DO UPDATE SET
    requests = requests + excluded.requests, input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens, spend_usd = spend_usd + excluded.spend_usd"""


class SpendFile:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()  # writes come from a worker thread, one at a time
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def load(self) -> list[UsageRow]:
        with self._lock:
            connection = self._connect()
            try:
                rows = connection.execute(
                    "SELECT key, period, requests, input_tokens, output_tokens, spend_usd FROM usage"
                ).fetchall()
            finally:
                connection.close()
        return [(str(k), str(p), int(r), int(i), int(o), float(s)) for k, p, r, i, o, s in rows]

    def add(self, rows: list[UsageRow]) -> None:
        if not rows:
            return
        with self._lock:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(_ADD, rows)
                connection.execute("COMMIT")
            finally:
                connection.close()
