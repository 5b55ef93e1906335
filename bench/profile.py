"""Sampling profiles of the gateway under load, with py-spy from its own venv.

py-spy is installed into ``bench/.work/venv`` (gitignored), never into the project's venv.
``record`` samples the gateway's pid in non-blocking mode while wrk drives a scenario, writes
the collapsed stacks to ``bench/.work/profiles/<scenario>-<client>.txt`` (feed them to
flamegraph.pl or speedscope) and ``summarize`` reduces them to where the time goes: by package,
by function (self), and the project's functions (inclusive).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
_PROJECT = ("app/", "domain/", "adapters/", "infrastructure/")
_PACKAGES = (
    ("project", _PROJECT),
    ("structlog (logging)", ("structlog/", "logging/")),
    ("litestar", ("litestar/",)),
    ("uvicorn+httptools", ("uvicorn/", "httptools/")),
    ("aiohttp", ("aiohttp/", "multidict/", "yarl/", "aiohappyeyeballs/", "propcache/")),
    ("httpx+httpcore+h11", ("httpx/", "httpcore/", "h11/", "sniffio/")),
    ("anyio", ("anyio/",)),
    ("msgspec", ("msgspec/",)),
    ("asyncio", ("asyncio/", "uvloop/")),
    ("dependency_injector", ("dependency_injector/",)),
)


def ensure_py_spy(work: Path) -> Path:
    venv = work / "venv"
    exe = venv / "bin" / "py-spy"
    if not exe.exists():
        print("bench: installing py-spy into bench/.work/venv", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "py-spy"], check=True, timeout=300)
    return exe


def start_record(py_spy: Path, pid: int, out: Path, seconds: int) -> subprocess.Popen[bytes]:
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(py_spy), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "400",
            "--format", "raw", "--output", str(out), "--nonblocking"]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _parse(line: str) -> tuple[list[tuple[str, str]], int] | None:
    stack, _, count = line.rstrip("\n").rpartition(" ")
    if not stack or not count.isdigit():
        return None
    frames = []
    for raw in stack.split(";"):
        match = _FRAME.match(raw)
        frames.append((match["file"], match["func"]) if match else ("?", raw))
    return frames, int(count)


def _package(file: str) -> str:
    for name, prefixes in _PACKAGES:
        if file.startswith(prefixes):
            return name
    return "other stdlib/C" if "/" not in file or file.count("/") <= 1 else "other"


def summarize(path: Path, top: int = 12) -> dict[str, object]:
    """Shares (percent of samples) by package (leaf frame), top self functions, and the
    project's functions by inclusive time."""
    total = 0
    by_package: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    project_incl: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        parsed = _parse(line)
        if parsed is None:
            continue
        frames, count = parsed
        total += count
        leaf_file, leaf_func = frames[-1]
        by_package[_package(leaf_file)] += count
        self_time[f"{leaf_file}:{leaf_func}"] += count
        seen = set()
        for file, func in frames:
            key = f"{file}:{func}"
            if file.startswith(_PROJECT) and key not in seen:
                seen.add(key)
                project_incl[key] += count
    if not total:
        return {"samples": 0}

    def pct(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(key, round(100 * value / total, 1)) for key, value in counter.most_common(n)]

    return {
        "samples": total,
        "by_package": pct(by_package, 12),
        "self": pct(self_time, top),
        "project_inclusive": pct(project_incl, top),
    }


def render(title: str, summary: dict[str, object]) -> str:
    lines = [f"## profile: {title} ({summary.get('samples', 0)} samples)"]
    for section in ("by_package", "self", "project_inclusive"):
        entries = summary.get(section)
        if not isinstance(entries, list):
            continue
        lines.append(f"  {section}:")
        lines += [f"    {share:5.1f}%  {key}" for key, share in entries]
    return "\n".join(lines)
