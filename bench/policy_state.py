"""The policy's state store under concurrent requests, in-process: in this process against Redis.

    python -m bench.policy_state [--runs N] [--concurrency C] [CHECKOUT ...]

The ASGI app is driven directly (``bench.inprocess``: a fake HTTP client that answers at once,
no sockets) by 32 concurrent callers (``--concurrency``), with a gateway key that has rpm and
tpm limits it never reaches, so every request makes the policy's three state calls (admit,
tokens, settle). Two
stores: ``memory`` (in this process) and ``redis`` (``state.redis_url``: ``BENCH_REDIS_URL``,
default ``redis://127.0.0.1:6379/11``, under a key prefix of its own, deleted afterwards).

Each run is a fresh process per checkout and store, alternated (checkout A memory, A redis,
B memory, B redis, then again) so that the machine's drift falls on all alike; each process
reports the best of 3 rounds of 3,000 requests. Printed: the median over the runs of wall and
CPU microseconds per request, and the ratio of each checkout's figure to the first's. Without a
checkout, this one is measured; ``.`` names this one among others (e.g. a worktree of main).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))  # set by --concurrency for the children
REQUESTS = 3000
ROUNDS = 3
STORES = ("memory", "redis")
_RESULT = "policy_state_result "


async def _measure(store: str, root: str) -> dict[str, float]:
    from bench import inprocess

    prefix = f"bench-policy-state-{uuid.uuid4().hex[:12]}:"
    config = inprocess.CONFIG + inprocess.KEYS
    if store == "redis":
        config += f'\nstate: {{redis_url: "{REDIS_URL}", key_prefix: "{prefix}"}}\n'
    app = inprocess.build("off", config)
    path, body = inprocess._OPENAI, inprocess._body("gpt-4o-mini")

    async def caller(count: int) -> None:
        for _ in range(count):
            await inprocess.call(app, path, body, inprocess._KEYED)

    async def burst(total: int) -> None:
        await asyncio.gather(*(caller(total // CONCURRENCY) for _ in range(CONCURRENCY)))

    try:
        await burst(REQUESTS // 3)  # warm up
        best = {"wall_us": float("inf"), "cpu_us": float("inf")}
        total = REQUESTS // CONCURRENCY * CONCURRENCY
        for _ in range(ROUNDS):
            wall, cpu = time.perf_counter(), time.process_time()
            await burst(REQUESTS)
            best["wall_us"] = min(best["wall_us"], (time.perf_counter() - wall) / total * 1e6)
            best["cpu_us"] = min(best["cpu_us"], (time.process_time() - cpu) / total * 1e6)
        return best
    finally:
        if store == "redis":
            _delete(prefix)


def _delete(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _child(root: str, store: str) -> None:
    """One measurement, in a process of its own (the checkout's modules first on the path)."""
    sys.argv = [sys.argv[0], root]  # bench.inprocess reads the checkout from its arguments
    from bench import inprocess

    os.chdir(inprocess.ROOT)
    os.environ["GATEWAY_STATE_FILE"] = os.path.join(
        os.environ.get("TMPDIR", "/tmp"), f"bench-policy-state-{os.getpid()}.sqlite3"
    )
    from infrastructure.logging import configure_logging

    out = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the access log goes nowhere
    configure_logging("info")
    import uvloop

    uvloop.install()
    try:
        result = asyncio.run(_measure(store, root))
    finally:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(os.environ["GATEWAY_STATE_FILE"] + suffix):
                os.remove(os.environ["GATEWAY_STATE_FILE"] + suffix)
    print(_RESULT + json.dumps(result), file=out, flush=True)


def _run(root: str, store: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.policy_state", "--child", root, store],
        cwd=HERE, capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(line for line in done.stdout.splitlines() if line.startswith(_RESULT))
    result: dict[str, float] = json.loads(line.removeprefix(_RESULT))
    return result


def main(args: list[str]) -> None:
    global CONCURRENCY
    runs = 5
    while args[:1] in (["--runs"], ["--concurrency"]):
        if args[0] == "--runs":
            runs = int(args[1])
        else:
            CONCURRENCY = int(args[1])
            os.environ["BENCH_CONCURRENCY"] = args[1]
        args = args[2:]
    checkouts = [str(Path(a).resolve()) for a in args] or [str(HERE)]
    figures: dict[tuple[str, str], list[dict[str, float]]] = {(c, s): [] for c in checkouts for s in STORES}
    for run in range(runs):
        for checkout in checkouts:
            for store in STORES:
                result = _run(checkout, store)
                figures[checkout, store].append(result)
                print(f"run {run + 1}/{runs} {checkout} {store}: wall {result['wall_us']:.1f} us, "
                      f"cpu {result['cpu_us']:.1f} us", file=sys.stderr, flush=True)  # fmt: skip
    metrics = ("wall_us", "cpu_us")
    medians = {k: {m: statistics.median(r[m] for r in rs) for m in metrics} for k, rs in figures.items()}
    first = checkouts[0]
    print(f"\nc={CONCURRENCY}, median of {runs} runs (each the best of {ROUNDS} x {REQUESTS} requests)")
    print(f"{'checkout':40s} {'store':7s} {'wall us':>8s} {'cpu us':>8s} {'wall x':>7s} {'cpu x':>7s}")
    for (checkout, store), m in medians.items():
        base = medians[first, store]
        print(f"{checkout[-40:]:40s} {store:7s} {m['wall_us']:8.1f} {m['cpu_us']:8.1f} "
              f"{m['wall_us'] / base['wall_us']:7.2f} {m['cpu_us'] / base['cpu_us']:7.2f}")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1:])
