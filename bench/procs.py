"""Child processes of the benchmark: start pinned to a core, always stopped, measured from /proc.

Every process is started through ``Procs.start`` and registered; ``Procs.stop_all`` (run from
``finally``, ``atexit`` and the SIGINT/SIGTERM handlers) stops each one by its own pid. Children
also get ``PR_SET_PDEATHSIG`` so that they die with the benchmark even if it is killed hard.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import resource
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
_PR_SET_PDEATHSIG = 1


def _child_setup(core: int | set[int] | None) -> None:
    """Runs in the child between fork and exec: die with the parent, pin to ``core``."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    if core is not None:
        os.sched_setaffinity(0, core if isinstance(core, set) else {core})


class Procs:
    """The registry of running children."""

    def __init__(self) -> None:
        self._running: dict[int, tuple[str, subprocess.Popen[bytes]]] = {}
        atexit.register(self.stop_all)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        core: int | set[int] | None,
        log: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        out = log.open("ab")
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                preexec_fn=lambda: _child_setup(core),  # noqa: PLW1509 - no threads in the parent
            )
        finally:
            out.close()
        self._running[proc.pid] = (name, proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
        self._running.pop(proc.pid, None)
        if proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)

    def stop_all(self) -> None:
        for _, proc in list(self._running.values()):
            try:
                self.stop(proc)
            except (OSError, subprocess.SubprocessError):
                pass


def raise_open_files(wanted: int) -> int:
    """Raise this process's limit on open files (children inherit it) to ``wanted``: the soft
    limit up to the hard one, and the hard one too where allowed (root); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
                return wanted
            except (ValueError, OSError):
                pass
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def install_signal_handlers() -> None:
    """Ctrl-C and SIGTERM unwind through ``finally`` blocks (which stop the children)."""

    def _raise(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, _raise)
    signal.signal(signal.SIGTERM, _raise)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0, method: str = "GET") -> None:
    """Poll ``url`` until it answers 2xx; fail if ``proc`` exits or ``timeout`` passes."""
    data = b"{}" if method == "POST" else None
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before serving {url}")
        try:
            request = urllib.request.Request(url, data=data, method=method)
            with urllib.request.urlopen(request, timeout=1) as response:
                if 200 <= response.status < 300:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout}s: {last}")


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} not open after {timeout}s")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except OSError:
            continue
    return found


def cpu_split_ms(pid: int) -> tuple[float, float]:
    """(user, system) CPU of ``pid``, its reaped children and its live descendants, in ms."""
    user = system = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17
        user += int(fields[11]) + int(fields[13])
        system += int(fields[12]) + int(fields[14])
        stack += _children(current)
    return user * 1000 / CLK_TCK, system * 1000 / CLK_TCK


def cpu_ms(pid: int) -> float:
    """User + system CPU of ``pid`` and its descendants, in ms."""
    return sum(cpu_split_ms(pid))


def rss_kb(pid: int) -> int:
    """Resident set of ``pid`` and its live descendants, in KiB."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * PAGE_KB
        except OSError:
            continue
        stack += _children(current)
    return total


def connections_on_port(pid: int, port: int) -> int:
    """Established TCP connections of ``pid`` whose local port is ``port`` (a server's clients)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return 0
    count = 0
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "01" and inode in inodes and int(local.rsplit(":", 1)[1], 16) == port:
                count += 1
    return count
