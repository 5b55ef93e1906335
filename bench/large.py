"""Large requests: how long the gateway takes with one, and how long ``/healthz`` waits meanwhile.

    python -m bench.large                      # this checkout
    python -m bench.large --compare main       # and the gateway of another revision, interleaved

Cases (the sizes the gateway must take without starving others): an OpenAI client's 900,000
one-character messages (31 MB) sent to an Anthropic upstream, the same from an Anthropic
client to an OpenAI upstream, and a ``count_tokens`` of one 30 MB text answered by the local
estimate. While each request is under way, a probe on its own kept-alive connection asks
``GET /healthz`` every 10 ms; the figures are the request's time and the probes' latency
(p50, p99, max) during it, next to the probes' latency at rest. The upstream is
``bench/sink_upstream.py``. Each gateway is one worker on core 0; sink, probe and client on
core 1. Results go to ``bench/results/<date>-<commit>.jsonl`` (``"scenario": "large: ..."``).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from bench import report
from bench.procs import Procs, free_port, install_signal_handlers, wait_http, wait_port
from bench.runner import GATEWAY_CORE, LOAD_CORE
from bench.upstream import ROOT

PROBE_EVERY = 0.01  # seconds
MESSAGES = 900_000


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    body: bytes


def cases() -> list[Case]:
    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": "x"} for i in range(MESSAGES)]
    text = [{"role": "user", "content": "hello world, the quick brown fox. " * 900_000}]
    encode = msgspec.json.encode
    return [
        Case("openai->anthropic, 900k messages", "/openai/v1/chat/completions",
             encode({"model": "an/claude-x", "messages": turns})),
        Case("anthropic->openai, 900k messages", "/anthropic/v1/messages",
             encode({"model": "oa/gpt-x", "max_tokens": 16, "messages": turns})),
        Case("count_tokens 30 MB text, estimate", "/anthropic/v1/messages/count_tokens",
             encode({"model": "oa/gpt-x", "messages": text})),
    ]  # fmt: skip


def config(path: Path, port: int, sink: int) -> Path:
    prefixes = {"oa": "oa", "an": "an"}
    data = {
        "server": {
            "port": port, "max_body_bytes": 64 << 20, "log_level": "warning", "shutdown_grace_seconds": 2,
        },  # fmt: skip
        "apps": [
            {"name": p, "frontdoor": p, "path": f"/{p}", "model_routing": {"prefix_providers": prefixes}}
            for p in ("openai", "anthropic")
        ],
        "providers": [
            {"name": "oa", "type": "openai", "api_key": "bench", "base_url": f"http://127.0.0.1:{sink}/v1"},
            {"name": "an", "type": "anthropic", "api_key": "bench", "base_url": f"http://127.0.0.1:{sink}"},
        ],
    }
    path.write_bytes(msgspec.json.encode(data))
    return path


class Prober(threading.Thread):
    """``GET /healthz`` every ``PROBE_EVERY`` seconds on one kept-alive connection."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.samples: list[tuple[float, float]] = []  # (sent at, seconds to answer)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            sent = time.perf_counter()
            self.connection.request("GET", "/healthz")
            self.connection.getresponse().read()
            self.samples.append((sent, time.perf_counter() - sent))
            time.sleep(max(0.0, PROBE_EVERY - (time.perf_counter() - sent)))

    def between(self, start: float, end: float) -> list[float]:
        return [seconds for sent, seconds in self.samples if sent + seconds >= start and sent <= end]


def measure(port: int, case: Case) -> dict[str, Any]:
    prober = Prober(port)
    prober.start()
    time.sleep(0.5)
    rest = [seconds for _, seconds in prober.samples]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    connection.request("POST", case.path, body=case.body, headers={"content-type": "application/json"})
    response = connection.getresponse()
    response.read()
    end = time.perf_counter()
    time.sleep(0.1)
    prober.done.set()
    prober.join()
    during = prober.between(start, end)
    ms = lambda seconds: round(seconds * 1000, 1)  # noqa: E731
    return {
        "status": response.status,
        "request_s": round(end - start, 2),
        "healthz_rest_p50_ms": ms(statistics.median(rest)),
        "healthz_probes": len(during),
        "healthz_p50_ms": ms(statistics.median(during)),
        "healthz_p99_ms": ms(sorted(during)[max(0, int(len(during) * 0.99) - 1)]),
        "healthz_max_ms": ms(max(during)),
    }


def start_gateway(procs: Procs, name: str, root: Path, sink: int, work: Path) -> int:
    port = free_port()
    path = config(work / f"{name}.yaml", port, sink)
    argv = [str(ROOT / ".venv" / "bin" / "python"), "-m", "app", "--config", str(path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    if root != ROOT:
        env["PYTHONPATH"] = str(root)
    proc = procs.start(name, argv, core=GATEWAY_CORE, log=work / f"{name}.log", env=env, cwd=root)
    wait_http(f"http://127.0.0.1:{port}/readyz", proc)
    return port


def run(procs: Procs, work: Path, revisions: list[tuple[str, Path]], rounds: int = 2) -> list[dict[str, Any]]:
    """Every case through this checkout's gateway and each of ``revisions``' (label, checkout),
    interleaved, ``rounds`` times; one record per request."""
    sink = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sink_proc = procs.start("sink", [sys.executable, "-m", "bench.sink_upstream", "--port", str(sink)],
                            core=LOAD_CORE, log=work / "sink.log", env=env, cwd=ROOT)  # fmt: skip
    wait_port(sink, sink_proc)
    gateways = [("HEAD", start_gateway(procs, "large-head", ROOT, sink, work))]
    for label, root in revisions:
        gateways.append((label, start_gateway(procs, f"large-{label}", root, sink, work)))
    records: list[dict[str, Any]] = []
    for case in cases():
        for round_ in range(rounds):
            for label, port in gateways:
                result = {"scenario": f"large: {case.name}", "target": "large", "gateway": label,
                          "round": round_, **measure(port, case)}  # fmt: skip
                print(_line(result), flush=True)
                records.append(result)
    return records


def table(records: list[dict[str, Any]]) -> str:
    """Medians per case and gateway."""
    rows = [r for r in records if r.get("target") == "large"]
    if not rows:
        return ""
    head = [
        "large request", "gateway", "request s", "healthz at rest p50 ms", "healthz during p50/p99/max ms",
    ]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    keys = list(dict.fromkeys((r["scenario"], r["gateway"]) for r in rows))
    for scenario, gateway in keys:
        group = [r for r in rows if r["scenario"] == scenario and r["gateway"] == gateway]
        med = lambda key: statistics.median(r[key] for r in group)  # noqa: E731
        lines.append(
            f"| {scenario.removeprefix('large: ')} | {gateway} | {med('request_s'):.2f} | "
            f"{med('healthz_rest_p50_ms'):.1f} | "
            f"{med('healthz_p50_ms'):.1f}/{med('healthz_p99_ms'):.0f}/{med('healthz_max_ms'):.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.large", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument(
        "--compare", action="append", metavar="REV", default=[], help="also the gateway of REV"
    )
    parser.add_argument("--rounds", type=int, default=2, help="requests per case and gateway (interleaved)")
    args = parser.parse_args(argv)
    from bench.__main__ import worktree  # a detached checkout of REV under bench/.work/

    os.sched_setaffinity(0, {LOAD_CORE})
    install_signal_handlers()
    work = ROOT / "bench" / ".work"
    work.mkdir(parents=True, exist_ok=True)
    procs = Procs()
    try:
        records = run(procs, work, [(rev, worktree(rev)) for rev in args.compare], args.rounds)
    finally:
        procs.stop_all()
    meta = {"date": report.today(), "run": time.strftime("%Y-%m-%dT%H:%M:%S"), "commit": report.commit()}
    path = report.write_jsonl(records, meta)
    print("\n" + table(records) + "\n")
    print(f"bench.large: {len(records)} results appended to {path.relative_to(ROOT)}")
    return 0


def _line(r: dict[str, Any]) -> str:
    return (
        f"{r['scenario']:<44} {r['gateway']:<8} {r['status']} request {r['request_s']:>6.2f} s; "
        "healthz at rest "
        f"{r['healthz_rest_p50_ms']} ms, during ({r['healthz_probes']} probes) p50 {r['healthz_p50_ms']} "
        f"p99 {r['healthz_p99_ms']} max {r['healthz_max_ms']} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
