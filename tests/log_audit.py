"""The suite-wide check that no configured key reaches a log line.

The lines searched when the session ends:

* in the test process, every line the gateway's log sink writes once ``configure_logging`` ran
  (``LineBuffer.flush``, which every structlog and stdlib line then passes, whichever file a
  test pointed it at); before that, or after a test restored structlog's defaults, every line
  structlog's default console renderer renders (in-process apps in integration tests) and every
  stdlib record a logger handles (whatever handlers a test installed);
* every ``*.log`` file under the session's temporary directory: the stdout of each gateway
  process the end-to-end tests start (``tests/e2e/launcher.py``, ``tests/e2e/conftest.py``).

The keys searched for are every secret a ``Scrubber`` was built with in the test process (each
app's container builds one from its config) and every ``api_key`` in the ``*.yaml`` configs
under the temporary directory (the gateway processes' configs), each also by its first 12
characters. A hit fails the session, naming the file and line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
import yaml

from adapters.outbound.scrub import MIN_PREFIX, Scrubber
from infrastructure.logging import LineBuffer


@dataclass
class LogAudit:
    lines: list[bytes] = field(default_factory=list)  # written by the test process
    secrets: set[str] = field(default_factory=set)
    basetemp: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> None:
        audit = self
        flush, init = LineBuffer.flush, Scrubber.__init__

        def audited_flush(buffer: LineBuffer) -> None:
            with buffer._lock:
                pending = list(buffer._lines)
            for line in pending:
                audit.add(line)
            flush(buffer)

        def recording_init(scrubber: Scrubber, secrets: Any = ()) -> None:
            secrets = [s for s in secrets if s]
            audit.secrets.update(s.strip() for s in secrets if len(s.strip()) >= 8)
            init(scrubber, secrets)

        render = structlog.dev.ConsoleRenderer.__call__

        def audited_render(renderer: Any, logger: Any, name: str, event: Any) -> Any:
            line = render(renderer, logger, name, event)
            audit.add(line if isinstance(line, bytes) else str(line).encode())
            return line

        LineBuffer.flush = audited_flush  # type: ignore[method-assign]
        structlog.dev.ConsoleRenderer.__call__ = audited_render  # type: ignore[method-assign]
        Scrubber.__init__ = recording_init  # type: ignore[method-assign]
        handle = logging.Logger.handle
        formatter = logging.Formatter()

        def audited_handle(logger: logging.Logger, record: logging.LogRecord) -> Any:
            audit.add(formatter.format(record).encode("utf-8", "replace"))
            return handle(logger, record)

        logging.Logger.handle = audited_handle  # type: ignore[method-assign]

    def add(self, line: bytes) -> None:
        with self._lock:
            self.lines.append(line)

    def files(self, pattern: str) -> list[Path]:
        return sorted(self.basetemp.rglob(pattern)) if self.basetemp and self.basetemp.exists() else []

    def config_keys(self) -> set[str]:
        found: set[str] = set()
        for path in self.files("*.yaml"):
            try:
                document = yaml.safe_load(path.read_text())
            except (yaml.YAMLError, OSError, UnicodeDecodeError):
                continue
            providers = document.get("providers") if isinstance(document, dict) else None
            candidates = [p.get("api_key") for p in providers if isinstance(p, dict)] if isinstance(providers, list) else []
            auth = document.get("auth") if isinstance(document, dict) else None
            if isinstance(auth, dict):  # the gateway's own keys: never logged either
                keys = auth.get("keys")
                candidates += [k.get("key") for k in keys if isinstance(k, dict)] if isinstance(keys, list) else []
                admin = auth.get("admin_keys")
                candidates += admin if isinstance(admin, list) else []
            for key in candidates:
                if isinstance(key, str) and "${" not in key and len(key) >= 8:
                    found.add(key)
        return found

    def sources(self) -> Iterator[tuple[str, bytes]]:
        for number, line in enumerate(self.lines, 1):
            yield f"in-process line {number}", line
        for path in self.files("*.log"):
            for number, line in enumerate(path.read_bytes().splitlines(), 1):
                yield f"{path.relative_to(self.basetemp)}:{number}", line  # type: ignore[arg-type]

    def report(self) -> tuple[list[str], str]:
        """The leaks found (where, which key), and a one-line summary."""
        keys = self.secrets | self.config_keys()
        needles = {key[:MIN_PREFIX].encode(): key for key in keys}
        leaks: list[str] = []
        counted = 0
        for where, line in self.sources():
            counted += 1
            for needle, key in needles.items():
                if needle in line:  # quoted with the key cut short: the report is a log too
                    shown = line.replace(needle, needle[:4] + b"...")[:300]
                    leaks.append(f"{where}: key {key[:4]}... in {shown!r}")
        files = len(self.files("*.log"))
        summary = (
            f"log audit: {counted} log lines ({len(self.lines)} in-process, the rest in {files} gateway "
            f"log files) searched for {len(keys)} configured keys: "
            + (f"{len(leaks)} LEAKS" if leaks else "clean")
        )
        return leaks, summary
