"""``python -m bench`` (``make bench``): measure the gateway against nginx serving recorded answers.

    python -m bench                       # everything, both HTTP clients (about 5.5 minutes)
    python -m bench --quick               # c=32 only, short runs, 200 open streams
    python -m bench --scenario 'openai-*' --client httpx --profile

See bench/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import large, report
from bench.procs import Procs, install_signal_handlers, raise_open_files
from bench.runner import LOAD_CORE, Bench, Options
from bench.scenarios import BENCH_LIMITS, all_scenarios
from bench.upstream import STREAM_FRAMES, ensure_debian_tools


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    names = [s.name for s in all_scenarios()] + ["open-streams"]
    p.add_argument("--quick", action="store_true", help="c=32 only, 2 s runs, 200 open streams")
    p.add_argument("--scenario", action="append", metavar="NAME",
                   help=f"run only these (glob patterns, repeatable): {', '.join(names)}")  # fmt: skip
    p.add_argument(
        "--client", action="append", choices=["httptools", "httpx"], help="outbound HTTP client(s)"
    )
    p.add_argument("--concurrency", type=lambda s: [int(c) for c in s.split(",")], help="default 32,128")
    p.add_argument("--duration", type=float, help="seconds per measured run (default 5)")
    p.add_argument("--streams", type=int, help="open streams at once (default 1000; 0 skips)")
    p.add_argument("--stream-frames", type=int, default=STREAM_FRAMES,
                   help=f"frames of each open stream (default {STREAM_FRAMES})")
    p.add_argument("--stream-delay-ms", type=float, default=50.0, help="slow upstream's gap (default 50)")
    p.add_argument("--ramp", type=float, default=1.0, help="seconds over which open streams start")
    p.add_argument("--no-access-log", action="store_true", help="gateway with server.access_log: false")
    p.add_argument("--no-keys", action="store_true",
                   help="gateway without its key (default: auth.keys with rpm/tpm limits, sent by the load)")
    p.add_argument("--litellm", action="store_true", help="also LiteLLM proxy (own venv) on openai-openai*")
    p.add_argument("--no-bare", dest="bare", action="store_false",
                   help="skip the bare Litestar + aiohttp proxy (the calibration run)")
    p.add_argument("--compare", action="append", metavar="REV", default=[],
                   help="compare with the gateway of git revision REV (a worktree): all up at once, runs "
                        "interleaved, medians reported (repeatable)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved runs per gateway with --compare")
    p.add_argument("--paced-rps", type=float, default=500.0,
                   help="offered req/s of the paced run at the first concurrency (default 500; 0 skips)")
    p.add_argument("--paced-fraction", type=float, default=0.5,
                   help="with --compare: paced runs of each gateway and the floor at this share of HEAD's "
                        "throughput (default 0.5; 0 skips)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="also openai-openai through 1 and N workers on all cores (default: 2 in a full run)")
    p.add_argument("--profile", action="store_true", help="py-spy each gateway scenario (extra runs)")
    p.add_argument("--readme", action=argparse.BooleanOptionalAction, default=None,
                   help="write the table into bench/README.md (default: only for a full run)")  # fmt: skip
    p.add_argument("--large", action=argparse.BooleanOptionalAction, default=None,
                   help="also /healthz latency during 31 MB requests (bench/large.py; default: only in a "
                        "full run)")
    p.add_argument("--max-minutes", type=float, default=15.0, help="hard stop for the whole run")
    return p.parse_args(argv)


def _select(patterns: list[str] | None) -> tuple[list, bool]:
    scenarios = all_scenarios()
    if not patterns:
        return scenarios, True
    chosen = [s for s in scenarios if any(fnmatch.fnmatch(s.name, p) for p in patterns)]
    floors = {s.floor for s in chosen if not s.direct}  # the floors the chosen ones compare with
    chosen = [s for s in scenarios if s in chosen or s.name in floors]
    return chosen, any(fnmatch.fnmatch("open-streams", p) for p in patterns)


def worktree(rev: str) -> Path:
    """A detached checkout of ``rev`` under bench/.work/ (made once, reused)."""
    root = Path(__file__).resolve().parent.parent
    short = subprocess.run(["git", "rev-parse", "--short", rev], cwd=root, check=True,
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    path = root / "bench" / ".work" / f"rev-{short}"
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", "-f", str(path), short], cwd=root, check=True,
                       capture_output=True)  # fmt: skip
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenarios, with_streams = _select(args.scenario)
    streams = args.streams if args.streams is not None else (200 if args.quick else 1000)
    options = Options(
        scenarios=scenarios,
        clients=args.client or ["httptools", "httpx"],
        concurrency=args.concurrency or ([32] if args.quick else [32, 128]),
        duration=args.duration or (2.0 if args.quick else 5.0),
        warmup=1.0,
        probe_samples=50 if args.quick else 200,
        open_streams=streams if with_streams else 0,
        stream_frames=args.stream_frames,
        stream_delay_ms=args.stream_delay_ms,
        ramp=args.ramp,
        profile=args.profile,
        access_log=not args.no_access_log,
        keys=not args.no_keys,
        paced_fraction=args.paced_fraction,
        litellm=args.litellm,
        bare=args.bare,
        paced_rps=args.paced_rps,
    )
    full = not (
        args.quick
        or args.scenario
        or args.client
        or args.concurrency
        or args.duration
        or args.streams is not None
        or args.no_access_log
        or args.no_keys
        or args.profile
    )
    write_readme = full if args.readme is None else args.readme
    workers = args.workers if args.workers is not None else (2 if full else 1)

    ensure_debian_tools()
    # Each open stream holds a descriptor in the load generator and in the slow upstream, and two
    # in the gateway (client and upstream), which fits its connection cap to its limit.
    files = raise_open_files(2 * options.open_streams + 128)
    if files < 2 * options.open_streams + 128:
        print(f"bench: open files limited to {files}: {options.open_streams} streams may not fit", flush=True)
    os.sched_setaffinity(0, {LOAD_CORE})  # children inherit core 1; the gateway asks for core 0
    install_signal_handlers()

    def _timeout(*_: object) -> None:
        raise TimeoutError(f"bench exceeded --max-minutes {args.max_minutes}")

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(int(args.max_minutes * 60))

    meta = {
        "date": report.today(),
        "run": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "commit": report.commit(),
        "machine": report.machine(),
        "settings": (
            f"wrk 1 thread, {options.duration:g} s per run after a {options.warmup:g} s warm-up; gateway: "
            f"1 worker (uvicorn, uvloop, httptools), access log {'on' if options.access_log else 'off'}, "
            f"alone on core 0; "
            + (f"a gateway key with rpm {BENCH_LIMITS['rpm']:,} and tpm {BENCH_LIMITS['tpm']:,} sent by "
               "every request, state in the process, " if options.keys else "no gateway key, ")
            + "/metrics on, tracing off; "
            f"nginx, wrk, probes on core 1; streams are {STREAM_FRAMES} SSE frames; "
            f"open streams: {options.open_streams} x {options.stream_frames} frames "
            f"{options.stream_delay_ms:g} ms apart, started over {options.ramp:g} s."
        ),
    }
    started = time.monotonic()
    baselines = [(rev, worktree(rev)) for rev in args.compare]
    procs = Procs()
    bench: Bench | None = None
    try:
        bench = Bench(options, procs)
        print(f"bench: commit {meta['commit']}, floor (direct to nginx)", flush=True)
        bench.floor()
        for client in options.clients:
            if baselines:
                revs = ", ".join(rev for rev, _ in baselines)
                print(f"bench: HEAD against {revs}, http_client={client}, runs interleaved", flush=True)
                bench.compare(client, baselines, args.rounds)
                continue
            print(f"bench: gateway with http_client={client}", flush=True)
            bench.gateway(client)
        if workers > 1:
            client = options.clients[0]
            print(f"bench: 1 worker against {workers}, all cores, http_client={client}", flush=True)
            bench.scaling(options.clients[0], workers, baselines, args.rounds)
        if options.bare:
            print("bench: bare Litestar + aiohttp proxy (calibration)", flush=True)
            bench.bare()
        if options.litellm:
            print("bench: LiteLLM proxy", flush=True)
            bench.litellm()
        if args.large if args.large is not None else full:
            print("bench: /healthz during large requests", flush=True)
            bench.records += large.run(procs, bench.work, baselines)
    except KeyboardInterrupt:
        print("bench: interrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        signal.alarm(0)
        procs.stop_all()
    records = bench.records
    report.annotate(records)
    meta["elapsed_s"] = round(time.monotonic() - started, 1)
    path = report.write_jsonl(records, {k: v for k, v in meta.items() if k != "settings"})
    section = report.markdown(records, meta, options.concurrency)
    print("\n" + section)
    for text in bench.profiles:
        print(text)
    if write_readme:
        report.update_readme(section)
        print(f"bench: table written to {report.README.relative_to(report.ROOT)}")
    print(
        f"bench: {len(records)} results appended to {path.relative_to(report.ROOT)} in {meta['elapsed_s']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
