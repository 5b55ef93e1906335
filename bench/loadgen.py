"""Load: ``wrk`` with a generated Lua script per scenario; a small client for time to first byte.

The Lua script posts the scenario's body and, in ``done()``, prints one ``BENCH_JSON`` line with
the request count, error counts and latency percentiles (microseconds) for ``run_wrk`` to parse.
"""

from __future__ import annotations

import http.client
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

from bench.scenarios import Scenario

_LUA = """\
wrk.method = "{method}"
wrk.body = {body}
{headers}
{delay}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


class WrkResult(msgspec.Struct, frozen=True):
    requests: int
    duration_us: int
    bytes: int
    connect: int
    read: int
    write: int
    status: int  # responses with status >= 400
    timeout: int
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    mean_us: float

    @property
    def socket_errors(self) -> int:
        return self.connect + self.read + self.write + self.timeout

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0


def write_lua(scenario: Scenario, work: Path, delay_ms: int | None = None) -> Path:
    """The scenario's script; with ``delay_ms`` each connection waits that long on average
    between its requests (a paced load, below the gateway's capacity)."""
    body = scenario.body.decode()
    assert "]==]" not in body
    body = f"[==[{body}]==]" if body else "nil"
    headers = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in scenario.headers.items())
    # Uniform between 0 and twice the mean: a fixed delay keeps the connections in step, and
    # 32 requests arriving together queue behind each other (a burst, not a paced load).
    delay = f"delay = function() return math.random(0, {2 * delay_ms}) end" if delay_ms else ""
    path = work / "lua" / f"{scenario.name}{'-paced' if delay_ms else ''}.lua"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_LUA.format(method=scenario.method, body=body, headers=headers, delay=delay))
    return path


def run_wrk(url: str, lua: Path, *, connections: int, seconds: float, wrk: str = "wrk") -> WrkResult:
    """One bounded wrk run (one thread: it shares its core with the upstream)."""
    argv = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(lua),
        url,
    ]
    done = subprocess.run(argv, capture_output=True, timeout=seconds + 30, check=False)
    for line in done.stdout.decode(errors="replace").splitlines():
        if line.startswith("BENCH_JSON "):
            return msgspec.json.decode(line.removeprefix("BENCH_JSON "), type=WrkResult)
    raise RuntimeError(
        f"wrk gave no result (exit {done.returncode}): {done.stderr.decode(errors='replace')[-500:]}"
    )


@dataclass(frozen=True)
class Check:
    status: int
    frames: int  # SSE frames (blank-line terminated) in a stream's body
    complete: bool  # a stream ended with its protocol's terminator
    body_bytes: int


def check_once(port: int, scenario: Scenario) -> Check:
    """One request, fully read: the scenario answers 200 and a stream arrives whole."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(scenario.method, scenario.path, body=scenario.body or None, headers=scenario.headers)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    frames = body.count(b"\n\n")
    if scenario.stream:
        ends = {"openai": b"data: [DONE]", "responses": b"event: response.completed\ndata: "}
        end = ends.get(scenario.client, b'data: {"type":"message_stop"}')
        complete = body.rstrip().endswith(end) if scenario.client != "responses" else end in body
    elif scenario.method == "GET":
        complete = True
    else:
        key = {"openai": b'"choices"', "responses": b'"output"'}.get(scenario.client, b'"content"')
        complete = body.startswith(b"{") and key in body
    return Check(response.status, frames, complete, len(body))


def probe(port: int, scenario: Scenario, samples: int) -> dict[str, float]:
    """Unloaded (one request at a time, one keep-alive connection) time to the first body byte
    and to the last, in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    firsts: list[float] = []
    totals: list[float] = []
    try:
        for index in range(samples + 5):
            started = time.perf_counter()
            conn.request(scenario.method, scenario.path, body=scenario.body or None, headers=scenario.headers)
            response = conn.getresponse()
            response.read(1)
            first = time.perf_counter()
            response.read()
            last = time.perf_counter()
            if index >= 5:  # the first few warm the connection pools
                firsts.append((first - started) * 1000)
                totals.append((last - started) * 1000)
    finally:
        conn.close()
    return {
        "ttfb_p50_ms": round(statistics.median(firsts), 3),
        "ttfb_p99_ms": round(_pct(firsts, 99), 3),
        "unloaded_p50_ms": round(statistics.median(totals), 3),
        "unloaded_p99_ms": round(_pct(totals, 99), 3),
    }


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]
