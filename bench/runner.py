"""One benchmark run: the fakes, the floor, each outbound HTTP client's gateway, open streams.

Layout on the two cores: the gateway alone on core 0; nginx, the slow upstream, wrk, the probes
and this process on core 1. Every figure lands in ``self.records`` (one dict per scenario run).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import litellm, loadgen, profile, streams
from bench.procs import (
    Procs,
    _children,
    connections_on_port,
    cpu_ms,
    cpu_split_ms,
    free_port,
    wait_http,
    wait_port,
)
from bench.scenarios import Scenario, all_scenarios, gateway_config
from bench.upstream import ROOT, start_nginx

_CORES = sorted(os.sched_getaffinity(0))
GATEWAY_CORE, LOAD_CORE = _CORES[0], _CORES[-1]  # one core only: both share it (figures then mean less)


@dataclass
class Options:
    scenarios: list[Scenario]
    clients: list[str]
    concurrency: list[int]
    duration: float
    warmup: float
    probe_samples: int  # unloaded requests for latency and time to first byte
    open_streams: int  # 0: skip
    stream_frames: int
    stream_delay_ms: float
    ramp: float
    profile: bool
    paced_rps: float = 500.0  # offered load of the paced run (latency below capacity); 0: none
    paced_fraction: float = 0.5  # --compare: paced runs at this share of HEAD's throughput; 0: none
    access_log: bool = True
    keys: bool = True  # the gateway key with rpm/tpm limits (issue 15's config); off: open frontdoors
    litellm: bool = False
    bare: bool = True
    work: Path = field(default_factory=lambda: ROOT / "bench" / ".work")


def has_keys(root: Path) -> bool:
    """Whether the checkout at ``root`` knows gateway keys (``auth.keys``; older ones refuse the section)."""
    schema = root / "infrastructure" / "config" / "schema.py"
    return "class AuthConfig" in schema.read_text()


def _core_busy_ms(core: int) -> float:
    """Busy time of one CPU (all processes) from /proc/stat, in ms."""
    with open("/proc/stat") as stat:
        for line in stat:
            if line.startswith(f"cpu{core} "):
                user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, line.split()[1:9])
                return (user + nice + system + irq + softirq + steal) * 1000 / os.sysconf("SC_CLK_TCK")
    return 0.0


class Bench:
    def __init__(self, options: Options, procs: Procs) -> None:
        self.o = options
        self.procs = procs
        self.records: list[dict[str, Any]] = []
        self.profiles: list[str] = []
        self.work = options.work
        self.work.mkdir(parents=True, exist_ok=True)
        self.upstream_port = free_port()
        self.slow_port = free_port() if options.open_streams else None
        self.nginx = start_nginx(procs, self.work, self.upstream_port, LOAD_CORE)
        self.slow = None
        if self.slow_port is not None:
            argv = [sys.executable, "-m", "bench.slow_upstream", "--port", str(self.slow_port), "--frames",
                    str(options.stream_frames), "--delay-ms", str(options.stream_delay_ms)]  # fmt: skip
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            self.slow = procs.start(
                "slow-upstream", argv, core=LOAD_CORE, log=self.work / "slow.log", env=env, cwd=ROOT
            )
            wait_port(self.slow_port, self.slow)

    # ---- one load run ----------------------------------------------------------------------
    def _load(
        self, scenario: Scenario, port: int, pid: int | None, connections: int, client: str
    ) -> dict[str, Any]:
        lua = loadgen.write_lua(scenario, self.work)
        url = f"http://127.0.0.1:{port}{scenario.path}"
        split0 = cpu_split_ms(pid) if pid else (0.0, 0.0)
        nginx0, core0 = cpu_ms(self.nginx.pid), _core_busy_ms(GATEWAY_CORE)
        result = loadgen.run_wrk(url, lua, connections=connections, seconds=self.o.duration)
        split1 = cpu_split_ms(pid) if pid else (0.0, 0.0)
        nginx1, core1 = cpu_ms(self.nginx.pid), _core_busy_ms(GATEWAY_CORE)
        cpu0, cpu1 = sum(split0), sum(split1)
        n = max(result.requests, 1)
        seconds = result.duration_us / 1e6
        record: dict[str, Any] = {
            "scenario": scenario.name,
            "target": "direct" if scenario.direct else (client if scenario.route else "gateway"),
            "http_client": client,
            "stream": scenario.stream,
            "concurrency": connections,
            "duration_s": round(seconds, 2),
            "requests": result.requests,
            "rps": round(result.rps, 1),
            "p50_ms": result.p50_us / 1000,
            "p90_ms": result.p90_us / 1000,
            "p99_ms": result.p99_us / 1000,
            "max_ms": result.max_us / 1000,
            "errors_non2xx": result.status,
            "errors_socket": result.socket_errors,
            "upstream_cpu_ms_per_req": round((nginx1 - nginx0) / n, 4),
        }
        if pid:
            gateway = cpu1 - cpu0
            record["gateway_cpu_ms_per_req"] = round(gateway / n, 4)
            record["gateway_sys_pct"] = round(100 * (split1[1] - split0[1]) / gateway, 1) if gateway else None
            record["access_log"] = self.o.access_log
            record["keys"] = self.o.keys
            record["gateway_cpu_pct"] = round(100 * gateway / 1000 / seconds, 1) if seconds else None
            # what else ran on the gateway's core meanwhile (other tenants of the machine)
            record["core0_other_pct"] = round(100 * max(0.0, core1 - core0 - gateway) / 1000 / seconds, 1)
        return record

    def _paced(self, scenario: Scenario, port: int, connections: int) -> dict[str, Any]:
        """Latency at a fixed offered load well below capacity: what a request pays for the
        gateway when it is not queueing behind others (a saturated closed-loop run measures the
        queue: at c=32, 32 / requests-per-second)."""
        delay_ms = max(1, round(connections * 1000 / self.o.paced_rps))
        lua = loadgen.write_lua(scenario, self.work, delay_ms=delay_ms)
        result = loadgen.run_wrk(f"http://127.0.0.1:{port}{scenario.path}", lua, connections=connections,
                                 seconds=self.o.duration)  # fmt: skip
        return {
            "paced_rps": round(result.rps, 1),
            "paced_p50_ms": result.p50_us / 1000,
            "paced_p99_ms": result.p99_us / 1000,
            "paced_errors": result.status + result.socket_errors,
        }

    def _check(self, scenario: Scenario, port: int) -> dict[str, Any]:
        check = loadgen.check_once(port, scenario)
        ok = check.status == 200 and check.complete
        if not ok:
            print(f"bench: CHECK FAILED {scenario.name}: {check}", flush=True)
        return {"check_ok": ok, "check_status": check.status, "check_frames": check.frames}

    def _run_scenario(self, scenario: Scenario, port: int, pid: int | None, client: str) -> None:
        check = self._check(scenario, port)
        extra: dict[str, Any] = {}
        if self.o.probe_samples:
            extra = loadgen.probe(port, scenario, self.o.probe_samples)
        if self.o.warmup:
            loadgen.run_wrk(f"http://127.0.0.1:{port}{scenario.path}", loadgen.write_lua(scenario, self.work),
                            connections=self.o.concurrency[0], seconds=self.o.warmup)  # fmt: skip
        for connections in self.o.concurrency:
            record = self._load(scenario, port, pid, connections, client) | check | extra
            if connections == self.o.concurrency[0] and self.o.paced_rps:
                record |= self._paced(scenario, port, connections)
            self.records.append(record)
            print(_line(record), flush=True)
        if self.o.profile and pid:
            self._profile(scenario, port, pid, client)

    def _profile(self, scenario: Scenario, port: int, pid: int, client: str) -> None:
        py_spy = profile.ensure_py_spy(self.work)
        seconds = max(3, round(self.o.duration))
        out = self.work / "profiles" / f"{scenario.name}-{client}.txt"
        spy = profile.start_record(py_spy, pid, out, seconds)
        time.sleep(0.3)
        loadgen.run_wrk(f"http://127.0.0.1:{port}{scenario.path}", loadgen.write_lua(scenario, self.work),
                        connections=self.o.concurrency[0], seconds=seconds + 1)  # fmt: skip
        spy.communicate(timeout=60)
        summary = profile.summarize(out)
        text = profile.render(f"{scenario.name} / {client} (c={self.o.concurrency[0]})", summary)
        self.profiles.append(text)
        print(text, flush=True)

    # ---- phases ----------------------------------------------------------------------------
    def floor(self) -> None:
        for scenario in self.o.scenarios:
            if scenario.direct:
                self._run_scenario(scenario, self.upstream_port, None, "-")
        if self.o.open_streams:
            self._open_streams(self.slow_port, "/v1/chat/completions", None, "-")  # type: ignore[arg-type]

    def _start_gateway(
        self, name: str, client: str, *, root: Path = ROOT, slow_port: int | None = None,
        core: int | set[int] = GATEWAY_CORE, workers: int = 1,
    ) -> tuple[int, Any]:
        """A gateway of the checkout at ``root`` on a free port, ready; stopped if it is not."""
        port = free_port()
        connections = max(4096, self.o.open_streams + 256)  # client connections, and upstream ones
        config = gateway_config(
            self.work / f"{name}.yaml", port=port, upstream_port=self.upstream_port, slow_port=slow_port,
            http_client=client, max_connections=connections, access_log=self.o.access_log,
            keys=self.o.keys and has_keys(root),
        )
        argv = [str(ROOT / ".venv" / "bin" / "python"), "-m", "app", "--config", str(config)]
        if workers > 1:
            argv += ["--workers", str(workers)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env["GATEWAY_ENV_FILE"] = os.devnull  # no .env: its GATEWAY_* would override the bench's config
        if root != ROOT:
            env["PYTHONPATH"] = str(root)
        proc = self.procs.start(name, argv, core=core, log=self.work / f"{name}.log", env=env, cwd=root)
        try:
            wait_http(f"http://127.0.0.1:{port}/readyz", proc)
        except BaseException:
            self.procs.stop(proc)
            raise
        return port, proc  # fmt: skip

    def gateway(self, client: str) -> None:
        port, gateway = self._start_gateway(f"gateway-{client}", client, slow_port=self.slow_port)
        try:
            if self.o.open_streams:  # first, on a fresh process: RSS growth is the streams' own
                self._open_streams(port, "/openai/v1/chat/completions", gateway.pid, client)
            for scenario in self.o.scenarios:
                if not scenario.direct:
                    self._run_scenario(scenario, port, gateway.pid, client)
        finally:
            self.procs.stop(gateway)

    def compare(self, client: str, baselines: list[tuple[str, Path]], rounds: int) -> None:
        """This checkout's gateway and each baseline's, all up at once, their runs interleaved
        (A B C, A B C, ...) per scenario; the median of ``rounds`` runs is reported. Noise on a
        shared machine then falls on every revision alike."""
        gateways: list[tuple[str, int, Any]] = []
        try:
            for label, root in [("HEAD", ROOT), *baselines]:
                port, proc = self._start_gateway(f"gateway-{client}-{label}", client, root=root)
                gateways.append((label, port, proc))
            connections = self.o.concurrency[0]
            for scenario in self.o.scenarios:
                if scenario.direct:
                    continue
                runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in gateways}
                lua = loadgen.write_lua(scenario, self.work)
                for label, port, _ in gateways:  # warm each one up
                    loadgen.run_wrk(f"http://127.0.0.1:{port}{scenario.path}", lua,
                                    connections=connections, seconds=self.o.warmup)  # fmt: skip
                for _ in range(rounds):
                    for label, port, proc in gateways:
                        run = self._load(scenario, port, proc.pid, connections, f"{client}@{label}")
                        runs[label].append(run)
                medians: dict[str, dict[str, Any]] = {}
                for label, records in runs.items():
                    records.sort(key=lambda r: r["gateway_cpu_ms_per_req"])
                    median = dict(records[len(records) // 2])
                    median["rounds"] = rounds
                    median["cpu_ms_per_req_runs"] = [r["gateway_cpu_ms_per_req"] for r in records]
                    medians[label] = median
                if self.o.paced_fraction:
                    self._paced_compare(scenario, gateways, medians, connections, rounds)
                for median in medians.values():
                    self.records.append(median)
                    print(_line(median) + f"  (median of {rounds})", flush=True)
        finally:
            for _, _, proc in gateways:
                self.procs.stop(proc)

    def _paced_compare(self, scenario: Scenario, gateways: list[tuple[str, int, Any]],
                       medians: dict[str, dict[str, Any]], connections: int, rounds: int) -> None:
        """Each gateway and the floor (nginx alone) held to the same offered load, a fraction of
        this checkout's saturated throughput (its median run above), runs interleaved: the p99
        a request pays for the gateway below capacity, over the floor's paced alike."""
        rps = self.o.paced_fraction * medians["HEAD"]["rps"]
        delay_ms = max(1, round(connections * 1000 / rps))
        floor = next(s for s in all_scenarios() if s.name == scenario.floor)
        targets = [(label, port, scenario) for label, port, _ in gateways]
        targets.append(("floor", self.upstream_port, floor))
        paced: dict[str, list[loadgen.WrkResult]] = {label: [] for label, _, _ in targets}
        for _ in range(rounds):
            for label, port, which in targets:
                lua = loadgen.write_lua(which, self.work, delay_ms=delay_ms)
                url = f"http://127.0.0.1:{port}{which.path}"
                run = loadgen.run_wrk(url, lua, connections=connections, seconds=self.o.duration)
                paced[label].append(run)
        floor_p99 = sorted(r.p99_us for r in paced["floor"])[rounds // 2] / 1000
        for label, median in medians.items():
            results = sorted(paced[label], key=lambda r: r.p99_us)
            mid = results[rounds // 2]
            median |= {
                "paced_target_rps": round(rps, 1),
                "paced_rps": round(mid.rps, 1),
                "paced_p50_ms": mid.p50_us / 1000,
                "paced_p99_ms": mid.p99_us / 1000,
                "paced_p99_runs_ms": [r.p99_us / 1000 for r in results],
                "paced_floor_p99_ms": floor_p99,
                "paced_floor_p99_runs_ms": sorted(r.p99_us / 1000 for r in paced["floor"]),
                "added_paced_p99_ms": round(mid.p99_us / 1000 - floor_p99, 3),
                "paced_errors": sum(r.status + r.socket_errors for r in results),
            }

    def scaling(self, client: str, workers: int, baselines: list[tuple[str, Path]], rounds: int = 3) -> None:
        """``openai-openai`` through one worker and through ``workers`` (and through ``workers`` of
        each baseline revision), the gateway free to use every core (nginx and wrk stay on
        theirs): requests/s should grow with the workers while CPU per request stays put. Runs
        interleaved, medians reported. ``worker_balance`` is the least busy worker's CPU over the
        busiest one's; ``worker_connections`` the client connections each worker held."""
        scenario = next(s for s in all_scenarios() if s.name == "openai-openai")
        connections = max(self.o.concurrency)
        gateways = []
        try:
            for label, root, count in [("HEAD", ROOT, 1), ("HEAD", ROOT, workers),
                                       *((root.name, root, workers) for _, root in baselines)]:  # fmt: skip
                name = f"gateway-{client}-{label}-workers{count}"
                port, proc = self._start_gateway(name, client, root=root, core=set(_CORES), workers=count)
                gateways.append((label, count, port, proc))
            runs: dict[tuple[str, int], list[dict[str, Any]]] = {(lb, c): [] for lb, c, _, _ in gateways}
            lua = loadgen.write_lua(scenario, self.work)
            for _, _, port, _ in gateways:  # warm-up, and every worker has its connections
                loadgen.run_wrk(f"http://127.0.0.1:{port}{scenario.path}", lua,
                                connections=connections, seconds=self.o.warmup)  # fmt: skip
            for _ in range(rounds):
                for label, count, port, proc in gateways:
                    pids = _workers(proc.pid) if count > 1 else [proc.pid]
                    before = [cpu_ms(pid) for pid in pids]
                    held: list[int] = []
                    sampler = threading.Timer(self.o.duration / 2, lambda: held.extend(
                        connections_on_port(pid, port) for pid in pids))  # fmt: skip
                    sampler.start()
                    record = self._load(scenario, port, proc.pid, connections, f"{client}@{label}")
                    sampler.join()
                    spent = [cpu_ms(pid) - b for pid, b in zip(pids, before, strict=True)]
                    record["worker_balance"] = round(min(spent) / max(spent), 2) if max(spent) else None
                    record["worker_cpu_ms"] = [round(s) for s in spent]
                    record["worker_connections"] = held
                    runs[(label, count)].append(record)
            # The spread of new connections: a new connection per request at a paced load no
            # worker is short of CPU for, so each worker's CPU is the work it was given, whatever
            # else the machine runs.
            fresh = dataclasses.replace(scenario, name=f"{scenario.name}-close", close=True)
            paced = loadgen.write_lua(fresh, self.work, delay_ms=max(1, round(32 * 1000 / self.o.paced_rps)))
            spread: dict[tuple[str, int], list[float]] = {(lb, c): [] for lb, c, _, _ in gateways if c > 1}
            for _ in range(rounds):
                for label, count, port, proc in gateways:
                    if count == 1:
                        continue
                    pids = _workers(proc.pid)
                    before = [cpu_ms(pid) for pid in pids]
                    loadgen.run_wrk(f"http://127.0.0.1:{port}{scenario.path}", paced, connections=32,
                                    seconds=self.o.duration)  # fmt: skip
                    spent = [cpu_ms(pid) - b for pid, b in zip(pids, before, strict=True)]
                    spread[(label, count)].append(round(min(spent) / max(spent), 2) if max(spent) else 0.0)
            base = sorted(r["rps"] for r in runs[("HEAD", 1)])[rounds // 2]
            for (label, count), records in runs.items():
                records.sort(key=lambda r: r["rps"])
                median = dict(records[rounds // 2])
                median |= {"scenario": f"scaling-workers-{count}", "workers": count, "rounds": rounds,
                           "rps_vs_one_worker": round(median["rps"] / base, 2) if base else None,
                           "rps_runs": [r["rps"] for r in records],
                           "balance_runs": [r["worker_balance"] for r in records],
                           "new_connection_balance_runs": spread.get((label, count), [])}  # fmt: skip
                self.records.append(median)
                print(_line(median) + f"  x{median['rps_vs_one_worker']} of 1 worker, balance "
                      f"{median['balance_runs']}, connections {median['worker_connections']}, paced "
                      f"new-connection balance {median['new_connection_balance_runs']}  "
                      f"(median of {rounds})", flush=True)  # fmt: skip
        finally:
            for _, _, _, proc in gateways:
                self.procs.stop(proc)

    def bare(self) -> None:
        """The OpenAI-to-OpenAI scenarios through a bare Litestar + aiohttp proxy (calibration)."""
        port = free_port()
        argv = [str(ROOT / ".venv" / "bin" / "python"), "-m", "bench.bare_proxy", str(port),
                f"http://127.0.0.1:{self.upstream_port}"]
        proc = self.procs.start("bare", argv, core=GATEWAY_CORE, log=self.work / "bare.log", cwd=ROOT)
        try:
            wait_http(f"http://127.0.0.1:{port}/json/v1/chat/completions", proc, method="POST")
            for scenario in self.o.scenarios:
                if scenario.name in litellm.LITELLM_SCENARIOS:
                    route = ("/sse" if scenario.stream else "/json") + "/v1/chat/completions"
                    self._run_scenario(dataclasses.replace(scenario, route=route), port, proc.pid, "bare")
                    memory = dataclasses.replace(scenario, route="/memory" + route)
                    self._run_scenario(memory, port, proc.pid, "bare-memory")
        finally:
            self.procs.stop(proc)

    def litellm(self) -> None:
        """The OpenAI-to-OpenAI scenarios through LiteLLM proxy, for the ratio."""
        exe = litellm.ensure_litellm(self.work)
        port = free_port()
        argv, env = litellm.command(exe, litellm.write_config(self.work, self.upstream_port), port)
        proc = self.procs.start("litellm", argv, core=GATEWAY_CORE, log=self.work / "litellm.log", env=env)
        try:
            wait_http(f"http://127.0.0.1:{port}/health/liveliness", proc, timeout=120)
            for scenario in self.o.scenarios:
                if scenario.name in litellm.LITELLM_SCENARIOS:
                    routed = dataclasses.replace(scenario, route=litellm.LITELLM_PATH)
                    self._run_scenario(routed, port, proc.pid, "litellm")
        finally:
            self.procs.stop(proc)

    def _open_streams(self, port: int, path: str, pid: int | None, client: str) -> None:
        spy = out = None
        if self.o.profile and pid:
            out = self.work / "profiles" / f"open-streams-{client}.txt"
            seconds = round(self.o.ramp + self.o.stream_frames * self.o.stream_delay_ms / 1000)
            spy = profile.start_record(profile.ensure_py_spy(self.work), pid, out, max(1, seconds))
        figures = streams.open_streams(
            port, path, "slow/bench-model", streams=self.o.open_streams, ramp=self.o.ramp,
            timeout=self.o.ramp + self.o.stream_frames * self.o.stream_delay_ms / 1000 + 30, watch_pid=pid,
        )  # fmt: skip
        record = {
            "scenario": "open-streams",
            "target": "gateway" if pid else "direct",
            "http_client": client,
            "stream": True,
            "upstream_frames": self.o.stream_frames,
            "upstream_delay_ms": self.o.stream_delay_ms,
            "ramp_s": self.o.ramp,
        } | figures
        self.records.append(record)
        print(_line(record), flush=True)
        if spy is not None and out is not None:
            spy.communicate(timeout=60)
            text = profile.render(f"open-streams / {client}", profile.summarize(out))
            self.profiles.append(text)
            print(text, flush=True)


def _workers(pid: int) -> list[int]:
    """uvicorn's worker processes under its supervisor (not multiprocessing's resource tracker)."""
    found = []
    for child in _children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue
    return found


def _line(r: dict[str, Any]) -> str:
    if r["scenario"] == "open-streams":
        return (f"  {r['scenario']:<26} {r['http_client']:<8} {r['completed']}/{r['streams']} complete, "
                f"gap p50/p99 {r['gap_p50_ms']}/{r['gap_p99_ms']} ms, "
                f"first frame p50 {r['first_frame_p50_ms']} ms, "
                f"RSS +{r['rss_growth_mb_per_1000']} MB/1000")  # fmt: skip
    cpu = r.get("gateway_cpu_ms_per_req")
    return (f"  {r['scenario']:<26} {r['http_client']:<8} c={r['concurrency']:<4} {r['rps']:>8.0f} req/s  "
            f"p50 {r['p50_ms']:.2f}  p99 {r['p99_ms']:.2f} ms  err {r['errors_non2xx'] + r['errors_socket']}"
            + (f"  cpu {cpu:.3f} ms/req" if cpu is not None else ""))  # fmt: skip
