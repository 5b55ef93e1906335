"""Results: JSON lines in ``bench/results/``, a markdown table printed and put in ``bench/README.md``."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import msgspec

from bench.upstream import ROOT

RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
# the targets: gateway CPU ms per request
CPU_TARGETS = {"same": 0.5, "translated": 0.8, "stream": 1.5}
ADDED_P99_TARGET_MS = 5.0


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def commit() -> str:
    head = _git("rev-parse", "--short", "HEAD") or "nogit"
    dirty = _git("status", "--porcelain", "--", ".", ":(exclude)bench")
    return head + ("-dirty" if dirty else "")


def machine() -> dict[str, Any]:
    model = "?"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": os.getloadavg()[0],
    }


def annotate(records: list[dict[str, Any]]) -> None:
    """Add, to each gateway record, what it adds over its floor at the same concurrency."""
    floors = {(r["scenario"], r.get("concurrency")): r for r in records if r["target"] == "direct"}
    for r in records:
        if r["target"] not in ("gateway", "litellm") or r["scenario"] == "open-streams":
            continue
        parts = r["scenario"].split("-")
        if len(parts) < 2:
            continue
        floor_name = "direct-" + parts[1] + ("-stream" if r["stream"] else "")
        floor = floors.get((floor_name, r["concurrency"]))
        if floor is None:
            continue
        r["floor"] = floor_name
        r["added_p50_ms"] = round(r["p50_ms"] - floor["p50_ms"], 3)
        r["added_p99_ms"] = round(r["p99_ms"] - floor["p99_ms"], 3)
        for key in ("ttfb_p50_ms", "unloaded_p50_ms", "unloaded_p99_ms", "paced_p99_ms"):
            if key in r and key in floor:
                r["added_" + key] = round(r[key] - floor[key], 3)


def write_jsonl(records: list[dict[str, Any]], meta: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{meta['date']}-{meta['commit']}.jsonl"
    with path.open("ab") as out:
        for record in records:
            out.write(msgspec.json.encode(meta | record) + b"\n")
    return path


def _cpu_target(r: dict[str, Any]) -> float:
    if r["stream"]:
        return CPU_TARGETS["stream"]
    if r["scenario"].count("-") < 1:
        return float("inf")  # healthz: no target
    client, provider = r["scenario"].split("-")[:2]
    return CPU_TARGETS["same" if client == provider else "translated"]


def _mark(ok: bool) -> str:
    return "" if ok else " ✗"


def load_table(records: list[dict[str, Any]], concurrency: list[int]) -> str:
    rows = [r for r in records if r["scenario"] != "open-streams" and r["target"] != "large"]
    if not rows:
        return ""
    keys: list[tuple[str, str]] = []
    for r in rows:
        if (r["scenario"], r["http_client"]) not in keys:
            keys.append((r["scenario"], r["http_client"]))
    head = ["scenario", "client", "CPU ms/req", "sys %"]
    for c in concurrency:
        head += [f"req/s c={c}", f"p50 ms c={c}", f"p99 ms c={c} (+floor)"]
    head += ["paced p50/p99 ms (+floor p99)", "errors", "c=1 ms p50/p99 (+floor p50)", "+TTFB ms",
             "other load core 0 %"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for scenario, client in keys:
        by_c = {r["concurrency"]: r for r in rows if r["scenario"] == scenario and r["http_client"] == client}
        first = by_c[min(by_c)]
        cpu = first.get("gateway_cpu_ms_per_req")
        cells = [scenario, client, "-" if cpu is None else f"{cpu:.3f}{_mark(cpu <= _cpu_target(first))}"]
        sys_pct = first.get("gateway_sys_pct")
        cells.append("" if sys_pct is None else f"{sys_pct:.0f}")
        for c in concurrency:
            r = by_c.get(c)
            if r is None:
                cells += ["", "", ""]
                continue
            added = r.get("added_p99_ms")
            extra = (
                "" if added is None else f" (+{added:.2f}{_mark(c != 32 or added <= ADDED_P99_TARGET_MS)})"
            )
            cells += [f"{r['rps']:.0f}", f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}{extra}"]
        if "paced_p99_ms" in first:
            added = first.get("added_paced_p99_ms")
            mark = "" if added is None else f" (+{added:.2f}{_mark(added <= ADDED_P99_TARGET_MS)})"
            paced = f"{first['paced_rps']:.0f}/s: {first['paced_p50_ms']:.2f}/{first['paced_p99_ms']:.2f}"
            cells.append(paced + mark)
        else:
            cells.append("")
        errors = sum(
            r["errors_non2xx"] + r["errors_socket"] + r.get("paced_errors", 0) for r in by_c.values()
        )
        checks = all(r.get("check_ok", True) for r in by_c.values())
        cells.append(f"{errors}" + ("" if checks else " (check failed)"))
        if "unloaded_p50_ms" in first:
            added = first.get("added_unloaded_p50_ms")
            cells.append(f"{first['unloaded_p50_ms']:.2f}/{first['unloaded_p99_ms']:.2f}"
                         + ("" if added is None else f" (+{added:.2f})"))  # fmt: skip
        else:
            cells.append("")
        ttfb = first.get("added_ttfb_p50_ms") if first["target"] != "direct" else first.get("ttfb_p50_ms")
        cells.append("" if ttfb is None or not first["stream"] else f"{ttfb:.2f}")
        others = [r["core0_other_pct"] for r in by_c.values() if r.get("core0_other_pct") is not None]
        cells.append(f"{max(others):.0f}" if others else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def streams_table(records: list[dict[str, Any]]) -> str:
    rows = [r for r in records if r["scenario"] == "open-streams"]
    if not rows:
        return ""
    head = ["target", "client", "complete", "frames", "peak open", "first frame p50/p99 ms",
            "gap p50/p99/max ms", "RSS MB/1000 streams", "CPU ms/stream (sys %)", "CPU %"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join([
            r["target"], r["http_client"], f"{r['completed']}/{r['streams']}",
            f"{r['frames_received']} ({r['frames_per_stream']}/stream)", str(r["peak_open"]),
            f"{r['first_frame_p50_ms']:.0f}/{r['first_frame_p99_ms']:.0f}",
            f"{r['gap_p50_ms']:.1f}/{r['gap_p99_ms']:.1f}/{r['gap_max_ms']:.0f}",
            "-" if r["rss_growth_mb_per_1000"] is None else f"+{r['rss_growth_mb_per_1000']:.1f}",
            "-"
            if r["gateway_cpu_ms_per_stream"] is None
            else f"{r['gateway_cpu_ms_per_stream']:.2f} ({r.get('gateway_sys_pct') or 0:.0f})",
            "-" if r["gateway_cpu_pct"] is None else f"{r['gateway_cpu_pct']:.0f}",
        ]) + " |")  # fmt: skip
    return "\n".join(lines)


def client_ratio(records: list[dict[str, Any]]) -> str:
    cpu: dict[tuple[str, str], float] = {}
    for r in records:
        if r["scenario"] == "healthz":  # no upstream call: the HTTP client plays no part
            continue
        if r.get("gateway_cpu_ms_per_req") is not None and (r["scenario"], r["http_client"]) not in cpu:
            cpu[(r["scenario"], r["http_client"])] = r["gateway_cpu_ms_per_req"]
    lines = []
    for other in ("httpx",):
        ratios = [
            cpu[(s, other)] / cpu[(s, "httptools")] for s, c in cpu if c == "httptools" and (s, other) in cpu
        ]
        if ratios:
            lines.append(
                f"{other} costs {statistics.median(ratios):.2f}x the gateway CPU per request of httptools "
                f"(median over {len(ratios)} scenarios, range {min(ratios):.2f}-{max(ratios):.2f})."
            )
    return " ".join(lines)


def markdown(records: list[dict[str, Any]], meta: dict[str, Any], concurrency: list[int]) -> str:
    m = meta["machine"]
    parts = [
        f"### {meta['date']}, commit `{meta['commit']}`",
        "",
        (
            f"Machine: {m['nproc']} cores, {m['cpu']}, Linux {m['kernel']}, Python {m['python']}; "
            f"load average {m['loadavg_at_start']:.2f} at start. {meta['settings']}"
        ),
        "",
        load_table(records, concurrency),
        "",
    ]
    ratio = client_ratio(records)
    if ratio:
        parts += [ratio, ""]
    streams = streams_table(records)
    if streams:
        parts += [streams, ""]
    from bench.large import table as large_table  # import here: bench.large imports this module

    large = large_table(records)
    if large:
        parts += [large, ""]
    return "\n".join(parts)


def update_readme(section: str) -> None:
    text = README.read_text() if README.exists() else f"# Benchmark\n\n{START}\n{END}\n"
    if START not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{section}\n{END}{tail}")


def today() -> str:
    return time.strftime("%Y-%m-%d")
