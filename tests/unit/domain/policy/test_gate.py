"""The policy's decisions for one request, over the in-process store: each refusal's error
kind, code, retry-after and ``record.rejected``; and what a request gives back at its end."""

from __future__ import annotations

import pytest

from adapters.state.memory import MemoryState
from domain.errors import ErrorKind, GatewayError
from domain.ir import ChatRequest, Message, TextBlock
from domain.policy import Budget, GatewayKey, KeyTable, Limits, Policy, digest
from domain.policy.estimate import estimate_input_tokens
from domain.request_record import RequestRecord

SECRET = "sk-gw-team-a-0123456789"


def policy(**fields: object) -> Policy:
    key = GatewayKey(name="team-a", digest=digest(SECRET), **fields)  # type: ignore[arg-type]
    return Policy(KeyTable([key]), MemoryState())


def chat(model: str = "gpt-4o", text: str = "hello") -> ChatRequest:
    return ChatRequest(model=model, messages=[Message(role="user", content=[TextBlock(text=text)])])


async def test_an_unknown_key_is_refused_without_saying_it() -> None:
    record = RequestRecord()
    with pytest.raises(GatewayError) as caught:
        policy().authenticate("sk-wrong-key-value", record)
    assert caught.value.kind is ErrorKind.AUTHENTICATION and caught.value.code == "invalid_api_key"
    assert "sk-wrong" not in caught.value.message
    assert record.rejected == "auth" and record.key is None


async def test_a_known_key_names_the_record() -> None:
    record = RequestRecord()
    grant = policy().authenticate(SECRET, record)
    await grant.admit("any-app", record)
    assert record.key == "team-a" and record.rejected is None


async def test_an_app_outside_the_key_is_forbidden() -> None:
    record = RequestRecord()
    grant = policy(apps=frozenset({"playground"})).authenticate(SECRET, record)
    with pytest.raises(GatewayError) as caught:
        await grant.admit("prod", record)
    assert caught.value.kind is ErrorKind.PERMISSION and record.rejected == "forbidden"


async def test_a_model_outside_the_globs_is_forbidden() -> None:
    record = RequestRecord()
    grant = policy(models=("gpt-*",)).authenticate(SECRET, record)
    await grant.admit("app", record)
    await grant.admit_call(chat("gpt-4o"), record)
    with pytest.raises(GatewayError) as caught:
        await grant.admit_call(chat("claude-opus-4"), record)
    assert caught.value.kind is ErrorKind.PERMISSION and caught.value.param == "model"
    assert record.rejected == "forbidden"


async def test_over_rpm_is_a_429_with_a_retry_after() -> None:
    gate = policy(limits=Limits(rpm=1))
    await gate.authenticate(SECRET, RequestRecord()).admit("app", RequestRecord())
    record = RequestRecord()
    with pytest.raises(GatewayError) as caught:
        await gate.authenticate(SECRET, record).admit("app", record)
    error = caught.value
    assert error.kind is ErrorKind.RATE_LIMITED and error.code == "rate_limit_exceeded"
    assert error.retry_after is not None and 0 < error.retry_after <= 60
    assert record.rejected == "rpm"


async def test_a_concurrency_slot_is_given_back_when_the_request_settles() -> None:
    gate = policy(limits=Limits(concurrent=1))
    first_record = RequestRecord()
    first = gate.authenticate(SECRET, first_record)
    await first.admit("app", first_record)
    second = RequestRecord()
    with pytest.raises(GatewayError):
        await gate.authenticate(SECRET, second).admit("app", second)
    assert second.rejected == "concurrent"
    assert gate.authenticate(SECRET, second).settlement(second) is None  # refused: nothing to give back
    settlement = first.settlement(first_record)
    assert settlement is not None and settlement.concurrent_ticket == first.ticket
    await gate.state.settle("team-a", settlement)
    third = RequestRecord()
    await gate.authenticate(SECRET, third).admit("app", third)


async def test_tpm_counts_the_estimate_once_and_settles_the_real_usage() -> None:
    gate = policy(limits=Limits(tpm=50))
    record = RequestRecord()
    grant = gate.authenticate(SECRET, record)
    request = chat(text="x" * 120)
    await grant.admit_call(request, record)
    await grant.admit_call(request, record)  # a second call of the same request is not counted again
    assert grant.tokens is not None and grant.tokens.remaining == 50 - estimate_input_tokens(request)
    record.input_tokens, record.output_tokens = 30, 15
    settlement = grant.settlement(record)
    assert settlement is not None and settlement.estimated_tokens == estimate_input_tokens(request)
    await gate.state.settle("team-a", settlement)
    refused = RequestRecord()
    with pytest.raises(GatewayError) as caught:
        await gate.authenticate(SECRET, refused).admit_call(chat(text="y" * 40), refused)
    assert caught.value.code == "rate_limit_exceeded" and refused.rejected == "tpm"


async def test_a_spent_budget_is_a_429_insufficient_quota_until_the_period_ends() -> None:
    gate = policy(budget=Budget(usd=0.5, period="day"))
    record = RequestRecord()
    grant = gate.authenticate(SECRET, record)
    await grant.admit("app", record)
    record.cost_usd = 0.5
    settlement = grant.settlement(record)
    assert settlement is not None
    await gate.state.settle("team-a", settlement)
    refused = RequestRecord()
    with pytest.raises(GatewayError) as caught:
        await gate.authenticate(SECRET, refused).admit("app", refused)
    error = caught.value
    assert error.code == "insufficient_quota" and error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after is not None and 0 < error.retry_after <= 86400
    assert refused.rejected == "budget"


def test_the_estimate_grows_with_the_text() -> None:
    short, long = estimate_input_tokens(chat(text="a" * 40)), estimate_input_tokens(chat(text="a" * 4000))
    assert short < long and long >= 1000
