"""A bounded soak on loopback: a few thousand requests, streaming and not, through both
frontdoors and the official async SDKs, to a primary that fails a third of the time in every way
(``Chaos``: refuse, stall before the first byte, 429 with Retry-After, 500, 529, cut stream,
stall mid-stream) with a healthy fallback behind it, and, for a fifth of them, no fallback.
Circuits open often: a fallback then takes the traffic, and a route with no fallback still
sends every request (none is refused by a circuit).

Every request must end in a success or a protocol-correct error (an HTTP error the SDK parses,
or the protocol's in-stream error event), none may hang (per-request deadline) and none may be
lost: each one's request id appears exactly once in the access log. The counts are printed.
``SOAK_REQUESTS`` and ``SOAK_HTTP_CLIENT`` (httptools or httpx) override the defaults.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
import pytest

from tests.e2e.launcher import GatewayProcess, launch
from tests.fakes.upstream import CHAOS_FAULTS, Chaos, FakeUpstream

REQUESTS = int(os.environ.get("SOAK_REQUESTS", "2000"))
HTTP_CLIENT = os.environ.get("SOAK_HTTP_CLIENT", "httptools")
CONCURRENCY = 24
DEADLINE = 20.0  # seconds: a request still running then has hung
SEED = 20240605
HELLO = [{"role": "user", "content": "Hello!"}]
GREETING = "Hello from the fake upstream!"
ERROR_STATUSES = {429, 502, 503, 504, 529}  # what a request with no target left may answer

# A chaos primary fails about one request in nine (both attempts): a circuit that opens at a
# tenth over a short window opens often, so fallbacks take traffic while primaries are open.
SMALL = """
    timeouts: {connect: 1, first_byte: 0.5, idle: 0.5, total: 10}
    retries: {attempts: 2, backoff_base: 0.01, backoff_cap: 0.05, retry_after_cap: 1}
    circuit_breaker: {window: 5, min_requests: 10, failure_ratio: 0.1, cooldown: 0.5, max_cooldown: 2}"""


def soak_config(chaos: str, healthy: str, http_client: str) -> str:
    def provider(name: str, kind: str, url: str) -> str:
        base = f"{url}/v1" if kind == "openai" else url
        return f"\n  - name: {name}\n    type: {kind}\n    api_key: sk-{name}\n    base_url: {base}{SMALL}"

    providers = "".join(
        (
            provider("chaos_oa", "openai", chaos),
            provider("chaos_an", "anthropic", chaos),
            provider("good_oa", "openai", healthy),
            provider("good_an", "anthropic", healthy),
        )
    )
    return f"""
server: {{http_client: {http_client}, log_level: info, watch_config_seconds: 0}}
apps:
  - {{name: oa, frontdoor: openai, path: /openai}}
  - {{name: an, frontdoor: anthropic, path: /anthropic}}
providers:{providers}
routing:
  rules:
    - {{model_prefix: gpt-, provider: chaos_oa, fallbacks: [{{provider: good_oa}}]}}
    - {{model_prefix: claude-, provider: chaos_an, fallbacks: [{{provider: good_an}}]}}
    - {{model_prefix: cross-, provider: chaos_oa, fallbacks: [{{provider: good_an, model: claude-x}}]}}
    - {{model_prefix: solo-, provider: chaos_an}}
"""


@dataclass(frozen=True)
class Plan:
    sdk: str  # "openai" | "anthropic"
    model: str
    stream: bool

    @property
    def has_fallback(self) -> bool:
        return not self.model.startswith("solo-")


def plans(count: int, rng: random.Random) -> list[Plan]:
    # Per SDK: its own protocol's route twice as often as the cross-protocol one; a fifth solo.
    models = {
        "openai": ("gpt-soak", "gpt-soak", "cross-soak"),
        "anthropic": ("claude-soak", "claude-soak", "cross-soak"),
    }
    result = []
    for _ in range(count):
        sdk = rng.choice(("openai", "anthropic"))
        model = rng.choice(models[sdk]) if rng.random() < 0.8 else "solo-soak"
        result.append(Plan(sdk, model, rng.random() < 0.5))
    return result


@dataclass
class Outcome:
    plan: Plan
    result: str  # ok | http_error | stream_error | broken | hung
    request_id: str | None = None
    failover: bool = False  # the x-gateway-failover header
    provider: str = ""  # the x-gateway-provider header
    detail: str = ""


async def _parse(raw: Any) -> Any:
    parsed = raw.parse()
    return await parsed if inspect.isawaitable(parsed) else parsed


def _headers(outcome: Outcome, headers: Any) -> None:
    outcome.request_id = headers.get("x-request-id")
    outcome.failover = headers.get("x-gateway-failover") == "true"
    outcome.provider = headers.get("x-gateway-provider", "")


async def _openai(client: openai.AsyncOpenAI, plan: Plan, outcome: Outcome) -> None:
    completions = client.chat.completions.with_raw_response
    raw = await completions.create(model=plan.model, messages=HELLO, stream=plan.stream)
    _headers(outcome, raw.headers)
    if not plan.stream:
        text = (await _parse(raw)).choices[0].message.content or ""
        finished = True
    else:
        text, finished = "", False
        async for chunk in await _parse(raw):
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finished = finished or chunk.choices[0].finish_reason is not None
    if text.startswith(GREETING) and finished:
        outcome.result = "ok"
    else:
        outcome.result, outcome.detail = "broken", f"incomplete answer {text[-40:]!r}"


async def _anthropic(client: anthropic.AsyncAnthropic, plan: Plan, outcome: Outcome) -> None:
    messages = client.messages.with_raw_response
    raw = await messages.create(model=plan.model, max_tokens=64, messages=HELLO, stream=plan.stream)
    _headers(outcome, raw.headers)
    if not plan.stream:
        message = await _parse(raw)
        text = "".join(b.text for b in message.content if b.type == "text")
        finished = message.stop_reason is not None
    else:
        text, finished = "", False
        async for event in await _parse(raw):
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                text += event.delta.text
            finished = finished or event.type == "message_stop"
    if text.startswith(GREETING) and finished:
        outcome.result = "ok"
    else:
        outcome.result, outcome.detail = "broken", f"incomplete answer {text[-40:]!r}"


def _classify_error(exc: Exception, outcome: Outcome) -> None:
    """An SDK exception: protocol-correct (an HTTP error or in-stream error event) or broken."""
    body = getattr(exc, "body", None)
    if isinstance(exc, openai.APIStatusError | anthropic.APIStatusError) and outcome.request_id is None:
        _headers(outcome, exc.response.headers)
        if exc.status_code in ERROR_STATUSES and _error_shaped(outcome.plan.sdk, body):
            outcome.result, outcome.detail = "http_error", exc.message
            return
        outcome.result, outcome.detail = "broken", f"HTTP {exc.status_code} {body!r}"
        return
    if outcome.request_id is not None and isinstance(exc, openai.APIError | anthropic.APIError):
        dropped = isinstance(exc, openai.APIConnectionError | anthropic.APIConnectionError)
        if _error_shaped(outcome.plan.sdk, body) and not dropped:
            outcome.result = "stream_error"
            return
    outcome.result, outcome.detail = "broken", f"{type(exc).__name__}: {exc}"


def _error_shaped(sdk: str, body: object) -> bool:
    if sdk == "openai":  # the SDK hands over the ``error`` object
        return isinstance(body, dict) and isinstance(body.get("message"), str) and "type" in body
    return (
        isinstance(body, dict) and body.get("type") == "error" and isinstance(body.get("error"), dict)
        and isinstance(body["error"].get("type"), str) and isinstance(body["error"].get("message"), str)
    )


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeUpstream, FakeUpstream]]:
    chaos, healthy = FakeUpstream().start_in_thread(), FakeUpstream().start_in_thread()
    chaos.default = Chaos(seed=SEED, rate=1 / 3, stall_seconds=1.5, retry_after=0.05)
    yield chaos, healthy
    chaos.stop()
    healthy.stop()


@pytest.fixture(scope="module")
def gateway(
    fakes: tuple[FakeUpstream, FakeUpstream], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    chaos, healthy = fakes
    with launch(soak_config(chaos.url, healthy.url, HTTP_CLIENT), tmp_path_factory.mktemp("soak")) as process:
        yield process


async def test_soak_every_request_ends_in_success_or_a_protocol_correct_error(
    gateway: GatewayProcess, fakes: tuple[FakeUpstream, FakeUpstream], capsys: pytest.CaptureFixture[str]
) -> None:
    chaos, healthy = fakes
    openai_client, anthropic_client = gateway.async_openai(timeout=15), gateway.async_anthropic(timeout=15)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def run(plan: Plan) -> Outcome:
        outcome = Outcome(plan, "broken")
        async with limit:
            try:
                async with asyncio.timeout(DEADLINE):
                    if plan.sdk == "openai":
                        await _openai(openai_client, plan, outcome)
                    else:
                        await _anthropic(anthropic_client, plan, outcome)
            except TimeoutError:
                outcome.result = "hung"
            except Exception as exc:  # noqa: BLE001 - classified
                _classify_error(exc, outcome)
        return outcome

    started = time.monotonic()
    outcomes = await asyncio.gather(*(run(p) for p in plans(REQUESTS, random.Random(SEED))))
    elapsed = time.monotonic() - started
    await openai_client.close()
    await anthropic_client.close()

    # Every request is in the access log exactly once (none lost), and agrees with its headers.
    ids = Counter(o.request_id for o in outcomes)
    lines = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = {r["request_id"]: r for r in gateway.logs("request.completed")}
        if all(rid in lines for rid in ids):
            break
        await asyncio.sleep(0.1)
    retried = sum(1 for o in outcomes if o.request_id in lines and _retried(lines[o.request_id]))
    # sent straight to the fallback: the primary's circuit was open (and the fallback's was not)
    diverted = sum(1 for o in outcomes if o.request_id in lines and _diverted(lines[o.request_id]))
    results = Counter(o.result for o in outcomes)
    counts = {
        "requests": REQUESTS,
        "succeeded": results["ok"],
        "failed_over": sum(1 for o in outcomes if o.result == "ok" and o.failover),
        # failed over, or sent straight to the fallback because the primary's circuit was open
        "served_by_fallback": sum(1 for o in outcomes if o.result == "ok" and o.provider.startswith("good_")),
        "diverted": diverted,
        "retried": retried,
        "errored": results["http_error"] + results["stream_error"],
        "errored_http": results["http_error"],
        "errored_in_stream": results["stream_error"],
        "broken": results["broken"],
        "hung": results["hung"],
        "seconds": round(elapsed, 1),
    }
    drawn = chaos.default.drawn  # type: ignore[union-attr]
    openings = sum(1 for r in gateway.logs("circuit.changed") if r.get("state") == "open")
    with capsys.disabled():
        print(f"\nsoak ({HTTP_CLIENT}, concurrency {CONCURRENCY}): {counts}")
        print(f"soak faults injected: {dict(sorted(drawn.items()))}; circuit openings: {openings}")

    problems = [o for o in outcomes if o.result in ("broken", "hung")]
    assert problems == [], problems[:10]
    assert sum(results.values()) == REQUESTS
    assert None not in ids and max(ids.values()) == 1  # every request had its own id...
    assert set(ids) <= set(lines)  # ...and its line in the access log
    assert all(lines[o.request_id]["failed_over"] == o.failover for o in outcomes)
    # With a healthy fallback nothing fails before the first byte; only a stream cut or stalled
    # after its first byte (which is never retried) can still end in an (in-stream) error.
    assert not [o for o in outcomes if o.plan.has_fallback and o.result == "http_error"]
    assert not [o for o in outcomes if not o.plan.stream and o.result == "stream_error"]
    assert all(drawn[fault] > 0 for fault in CHAOS_FAULTS)  # every fault was injected
    assert counts["failed_over"] > 0 and counts["retried"] > 0 and results["http_error"] > 0
    assert openings > 0 and diverted > 0  # circuits opened, and fallbacks took the traffic meanwhile
    assert not [o for o in outcomes if "circuit" in o.detail]  # no request was refused by a circuit
    assert len(healthy.requests) >= counts["failed_over"]


def _diverted(line: dict[str, Any]) -> bool:
    return bool(line["attempts"]) and line["attempts"][0]["provider"].startswith("good_")


def _retried(line: dict[str, Any]) -> bool:
    providers = [a["provider"] for a in line["attempts"]]
    return len(providers) != len(set(providers))
