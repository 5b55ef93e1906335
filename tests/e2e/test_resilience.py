"""The resilience policies end to end: the real gateway process (with each outbound HTTP client)
between the official SDKs (``max_retries=0``) and two fake upstreams, a primary and a fallback.

Which target served a response is read from the ``x-gateway-*`` headers (``with_raw_response``),
which upstream was asked from the fakes' records, and every attempt from the access log (the
gateway's stdout, JSON lines).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.e2e.launcher import GatewayProcess, launch
from tests.e2e.resilience_setup import COOLDOWN, GREETING, HELLO, ask, attempts, resilience_config
from tests.fakes.upstream import FakeUpstream, Refuse, Stall, error, sse_fixture


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeUpstream, FakeUpstream]]:
    primary, backup = FakeUpstream().start_in_thread(), FakeUpstream().start_in_thread()
    yield primary, backup
    primary.stop()
    backup.stop()


@pytest.fixture(scope="module", params=["httptools", "httpx"])
def gateway(
    request: pytest.FixtureRequest,
    fakes: tuple[FakeUpstream, FakeUpstream],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    primary, backup = fakes
    workdir: Path = tmp_path_factory.mktemp(f"resilience-{request.param}")
    with launch(resilience_config(primary.url, backup.url, request.param), workdir) as process:
        yield process


@pytest.fixture
def primary(fakes: tuple[FakeUpstream, FakeUpstream]) -> FakeUpstream:
    return fakes[0].reset()


@pytest.fixture
def backup(fakes: tuple[FakeUpstream, FakeUpstream]) -> FakeUpstream:
    return fakes[1].reset()


# Per SDK: the model it asks for, its primary provider and that one's fallback.
SDK_ROUTES = {
    "openai": ("gpt-4o-mini", "main", "spare"),
    "anthropic": ("claude-e2e-model", "claude_main", "claude_spare"),
}


# ---- retry --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_429_with_retry_after_is_retried_on_the_same_provider(
    gateway: GatewayProcess, primary: FakeUpstream, backup: FakeUpstream, sdk: str
) -> None:
    model, main, _ = SDK_ROUTES[sdk]
    primary.script(error(429, protocol=sdk, retry_after=0.3))  # type: ignore[arg-type]
    started = time.monotonic()
    served = ask(gateway, sdk, model)
    assert time.monotonic() - started >= 0.3  # Retry-After was honoured
    assert served.text.startswith(GREETING)
    assert (served.provider, served.failover) == (main, False)
    assert len(primary.requests) == 2 and backup.requests == []
    assert attempts(gateway, served) == [(main, "rate_limited"), (main, "ok")]


# ---- failover before the first byte ------------------------------------------------------------
FAULTS = {
    "500": lambda sdk: error(500, protocol=sdk),
    "529": lambda sdk: error(529, protocol=sdk),
    "hang_up": lambda sdk: Refuse(),
    "stall": lambda sdk: Stall(5),  # beyond first_byte (0.5 s)
}
RESULTS = {"500": "upstream", "529": "overloaded", "hang_up": "unavailable", "stall": "timeout"}


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failing_primary_is_retried_then_the_fallback_serves(
    gateway: GatewayProcess, primary: FakeUpstream, backup: FakeUpstream, fault: str, sdk: str, stream: bool
) -> None:
    model, main, spare = SDK_ROUTES[sdk]
    primary.script(FAULTS[fault](sdk), FAULTS[fault](sdk))
    served = ask(gateway, sdk, model, stream=stream)
    assert served.text.startswith(GREETING)
    assert (served.provider, served.failover) == (spare, True)
    assert served.headers["x-gateway-model"] == model
    assert len(primary.requests) == 2 and len(backup.requests) == 1
    assert attempts(gateway, served) == [(main, RESULTS[fault]), (main, RESULTS[fault]), (spare, "ok")]
    if fault == "stall":  # the gateway hung up on the stalled upstream at the deadline
        assert primary.wait_for_sync(lambda: primary.disconnects == 2)


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_a_refused_connection_fails_over(gateway: GatewayProcess, backup: FakeUpstream, stream: bool) -> None:
    served = ask(gateway, "openai", "dead-model", stream=stream)
    assert served.text.startswith(GREETING)
    assert (served.provider, served.failover) == ("spare", True)
    assert backup.requests[0].json["model"] == "gpt-4o-mini"
    assert attempts(gateway, served) == [("dead", "unavailable"), ("dead", "unavailable"), ("spare", "ok")]


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_an_openai_client_fails_over_to_an_anthropic_provider(
    gateway: GatewayProcess, primary: FakeUpstream, backup: FakeUpstream, stream: bool
) -> None:
    primary.script(error(500), error(500))
    served = ask(gateway, "openai", "cross-model", stream=stream)
    assert served.text.startswith(GREETING)  # translated from the Anthropic fixture
    assert (served.provider, served.failover) == ("claude_spare", True)
    assert served.headers["x-gateway-model"] == "claude-fallback"
    (request,) = backup.requests
    assert request.path == "/v1/messages" and request.json["model"] == "claude-fallback"
    assert request.headers["x-api-key"] == "sk-claude_spare"


@pytest.mark.parametrize("model", ["aliased", "some-unruled-model"], ids=["rewrite", "default_provider"])
def test_fallbacks_of_a_rewrite_and_of_the_default_route(
    gateway: GatewayProcess, primary: FakeUpstream, backup: FakeUpstream, model: str
) -> None:
    primary.script(error(503), error(503))
    served = ask(gateway, "openai", model)
    assert (served.provider, served.failover) == ("spare", True)
    upstream_model = "gpt-5-mini" if model == "aliased" else model
    assert [r.json["model"] for r in primary.requests + backup.requests] == [upstream_model] * 3


def test_the_access_log_lists_every_attempt(
    gateway: GatewayProcess, primary: FakeUpstream, backup: FakeUpstream
) -> None:
    primary.script(error(429, retry_after=0.05), error(500))
    served = ask(gateway, "openai", "gpt-4o-mini", stream=True)
    line = gateway.access_log(served.request_id)
    assert line["status"] == 200 and line["stream"] is True
    assert (line["provider"], line["upstream_model"], line["failed_over"]) == ("spare", "gpt-4o-mini", True)
    assert [(a["provider"], a["model"], a["result"]) for a in line["attempts"]] == [
        ("main", "gpt-4o-mini", "rate_limited"),
        ("main", "gpt-4o-mini", "upstream"),
        ("spare", "gpt-4o-mini", "ok"),
    ]
    assert all(isinstance(a["ms"], float | int) for a in line["attempts"])
    failed = [r for r in gateway.logs("upstream.failed") if r.get("request_id") == served.request_id]
    assert [(r["attempt"], r["next"]) for r in failed] == [(1, "retry"), (2, "next_target")]


# ---- nothing after the first byte -------------------------------------------------------------
def _read_until_error(gateway: GatewayProcess, sdk: str, model: str) -> tuple[str, Exception]:
    text = ""
    try:
        if sdk == "openai":
            for chunk in gateway.openai().chat.completions.create(model=model, messages=HELLO, stream=True):
                text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
        else:
            events = gateway.anthropic().messages.create(model=model, max_tokens=64, messages=HELLO, stream=True)
            for event in events:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    text += event.delta.text
    except (openai.APIError, anthropic.APIError) as exc:
        return text, exc
    raise AssertionError(f"the stream ended without an error: {text!r}")


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
@pytest.mark.parametrize("fault", ["stall", "cut"])
def test_a_stream_failing_after_the_first_byte_ends_in_an_in_stream_error(
    gateway: GatewayProcess, primary: FakeUpstream, backup: FakeUpstream, fault: str, sdk: str
) -> None:
    model, main, _ = SDK_ROUTES[sdk]
    fixture = "openai/stream_text_with_usage.sse" if sdk == "openai" else "anthropic/stream_text.sse"
    options = {"stall_after": 5, "stall_seconds": 5} if fault == "stall" else {"cut_after": 5}
    primary.script(sse_fixture(fixture, **options))
    text, exc = _read_until_error(gateway, sdk, model)
    assert text.startswith("Hello")  # what came before the failure reached the client
    if fault == "stall":
        assert "0.5 s" in str(exc)  # the idle timeout (watchdog or socket read, whichever fires first)
        assert primary.wait_for_sync(lambda: primary.disconnects == 1)  # the stalled upstream was closed
    assert len(primary.requests) == 1 and backup.requests == []  # neither retried nor failed over


# ---- other 4xx -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "openai_error", "anthropic_error"),
    [
        (400, openai.BadRequestError, anthropic.BadRequestError),
        (401, openai.AuthenticationError, anthropic.AuthenticationError),
        (404, openai.NotFoundError, anthropic.NotFoundError),
        (422, openai.UnprocessableEntityError, anthropic.UnprocessableEntityError),
    ],
)
@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_other_4xx_are_neither_retried_nor_failed_over(
    gateway: GatewayProcess, primary: FakeUpstream, backup: FakeUpstream, sdk: str, status: int,
    openai_error: type[Exception], anthropic_error: type[Exception],
) -> None:
    model, main, _ = SDK_ROUTES[sdk]
    primary.script(error(status, protocol=sdk))  # type: ignore[arg-type]
    with pytest.raises(openai_error if sdk == "openai" else anthropic_error) as info:
        ask(gateway, sdk, model)
    assert info.value.response.headers["x-gateway-provider"] == main  # type: ignore[attr-defined]
    assert len(primary.requests) == 1 and backup.requests == []
    rid = info.value.response.headers["x-request-id"]  # type: ignore[attr-defined]
    assert [a["provider"] for a in gateway.access_log(rid)["attempts"]] == [main]


# ---- circuit breaker and weighted targets ------------------------------------------------------
def test_the_circuit_opens_after_failed_requests_and_closes_after_a_successful_probe(
    gateway: GatewayProcess, primary: FakeUpstream, backup: FakeUpstream
) -> None:
    primary.default = error(500)
    for _ in range(3):  # circuit_breaker.consecutive_failures: 3
        served = ask(gateway, "openai", "flaky-model")
        assert (served.provider, served.failover) == ("spare", True)
    assert len(primary.requests) == 3
    opened = gateway.wait_log(lambda r: r.get("event") == "circuit.changed" and r.get("provider") == "flaky")
    assert (opened["state"], opened["upstream_model"], opened["failures"]) == ("open", "flaky-model", 3)

    served = ask(gateway, "openai", "flaky-model")  # open, and the fallback is not: flaky is passed over
    assert served.provider == "spare" and len(primary.requests) == 3
    assert attempts(gateway, served) == [("spare", "ok")]
    skipped = gateway.wait_log(
        lambda r: r.get("event") == "route.targets_skipped" and r.get("request_id") == served.request_id
    )
    assert (skipped["providers"], skipped["upstream_models"]) == (["flaky"], ["flaky-model"])

    primary.default = None  # the upstream recovers; after the cool-down one probe goes through
    time.sleep(COOLDOWN + 0.2)
    served = ask(gateway, "openai", "flaky-model")
    assert (served.provider, served.failover) == ("flaky", False) and len(primary.requests) == 4
    changes = [r["state"] for r in gateway.logs("circuit.changed") if r.get("provider") == "flaky"]
    assert changes[-3:] == ["open", "half_open", "closed"]
    served = ask(gateway, "openai", "flaky-model")
    assert served.provider == "flaky" and len(primary.requests) == 5


def test_weighted_targets_split_traffic_and_an_open_circuit_is_skipped(
    gateway: GatewayProcess, primary: FakeUpstream, backup: FakeUpstream
) -> None:
    client = gateway.openai()

    def served_by() -> str:
        raw = client.chat.completions.with_raw_response.create(model="split-model", messages=HELLO)
        raw.parse()
        return raw.headers["x-gateway-provider"]

    split = Counter(served_by() for _ in range(200))
    assert split["heavy"] + split["light"] == 200
    assert 115 <= split["heavy"] <= 185, split  # 3:1 is 150 (sd 6.1); 1:1 would be 100
    assert (len(primary.requests), len(backup.requests)) == (split["heavy"], split["light"])

    primary.default = error(500)  # heavy fails; its circuit opens after 2 failures (attempts: 1)
    for _ in range(100):
        assert served_by() == "light"  # a failed draw of heavy falls to the rest of the pool
        if len(primary.requests) - split["heavy"] == 2:
            break
    else:
        raise AssertionError("heavy was never drawn")
    before = len(primary.requests)
    assert Counter(served_by() for _ in range(40)) == {"light": 40}
    assert len(primary.requests) == before  # the open circuit's target is not even tried


def test_an_open_single_target_keeps_serving_every_good_request(
    gateway: GatewayProcess, primary: FakeUpstream, backup: FakeUpstream
) -> None:
    """One client's prompts that draw a 500 must not turn everyone else's requests to the same
    model into errors when there is nowhere to divert to."""
    bad = good = 0
    for sdk in ("openai", "anthropic"):
        for _ in range(2):
            for _ in range(5):  # a burst of requests the upstream fails (each attempt: 2 per request)
                primary.script(error(500, protocol="openai"), error(500, protocol="openai"))
                with pytest.raises((openai.InternalServerError, anthropic.InternalServerError)) as failed:
                    ask(gateway, sdk, "solo-model")
                assert failed.value.status_code == 502 and "circuit" not in failed.value.message
                bad += 1
            for n in range(50):  # everyone else's ordinary requests, half of them streamed
                served = ask(gateway, sdk, "solo-model", stream=n % 2 == 1)
                assert served.text.startswith(GREETING) and served.provider == "solo"
                good += 1
    assert (bad, good) == (20, 200)
    assert len(primary.requests) == 2 * bad + good and backup.requests == []  # every good one reached it
    changes = [r["state"] for r in gateway.logs("circuit.changed") if r.get("provider") == "solo"]
    assert changes.count("open") == 4 and changes.count("closed") == 4  # opened by each burst, closed by the next success

    status = httpx.get(f"{gateway.url}/status", headers={"accept": "application/json"}).json()
    (solo,) = [p for p in status["providers"] if p["name"] == "solo"]
    assert [(d["model"], d["state"]) for d in solo["deployments"]] == [("solo-model", "closed")]


def test_fail_fast_refuses_with_each_sdks_overload_error_and_retry_after_when_no_target_is_left(
    gateway: GatewayProcess, primary: FakeUpstream, backup: FakeUpstream
) -> None:
    primary.script(error(500))
    with pytest.raises(openai.InternalServerError) as failed:  # lonely has no fallback: its 502
        ask(gateway, "openai", "lonely-model")
    assert failed.value.status_code == 502
    # Its circuit (opens after 1, fail_fast) is now open: nothing is sent, the client is told when to retry.
    with pytest.raises(openai.InternalServerError) as openai_error:
        ask(gateway, "openai", "lonely-model")
    with pytest.raises(anthropic.APIStatusError) as anthropic_error:
        ask(gateway, "anthropic", "lonely-model")
    assert openai_error.value.status_code == 503 and anthropic_error.value.status_code == 529
    assert anthropic_error.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    for exc in (openai_error.value, anthropic_error.value):
        assert "circuit" in exc.message
        assert 500 <= int(exc.response.headers["retry-after"]) <= 600
    assert len(primary.requests) == 1 and backup.requests == []
