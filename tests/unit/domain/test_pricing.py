"""Cost of a usage at a price: each part of the prompt at its own rate, figures by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from domain.ir import (
    AnyEvent,
    ChatRequest,
    ChatResponse,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    TextBlock,
    Usage,
)
from domain.pricing import Price, cost, price_record, token_cost
from domain.request_record import RequestRecord
from domain.routing import Destination, RoutingTable
from domain.service import ChatService

MINI = Price(input=0.15, output=0.6, cache_read=0.075)  # an OpenAI-style price: no cache writes
HAIKU = Price(input=1.0, output=5.0, cache_read=0.1, cache_write=1.25)
SONNET = Price(3.0, 15.0, 0.3, 3.75, tiers=((200_000, Price(6.0, 22.5, 0.6, 7.5)),))


def test_openai_shape_cached_tokens_are_part_of_the_prompt() -> None:
    # prompt_tokens 2000 of which 1500 cached, 300 completion tokens:
    # 500 * 0.15 + 1500 * 0.075 + 300 * 0.6 = 75 + 112.5 + 180 = 367.5 per million
    usage = Usage(input_tokens=2000, output_tokens=300, cache_read_tokens=1500)
    assert cost(usage, MINI) == 0.0003675


def test_anthropic_shape_cache_reads_and_writes_each_at_their_rate() -> None:
    # The wire said input 100, cache read 4000, cache write 2000, output 500; the IR's input is
    # all of the prompt: 6100. 100 * 1 + 4000 * 0.1 + 2000 * 1.25 + 500 * 5 = 5500 per million.
    usage = Usage(input_tokens=6100, output_tokens=500, cache_read_tokens=4000, cache_creation_tokens=2000)
    assert cost(usage, HAIKU) == 0.0055


def test_cache_rates_default_to_the_input_rate() -> None:
    # 1000 prompt tokens (400 read, 100 written) at 2 and 50 output at 8: 2000 + 400 = 2400
    usage = Usage(input_tokens=1000, output_tokens=50, cache_read_tokens=400, cache_creation_tokens=100)
    assert cost(usage, Price(input=2.0, output=8.0)) == 0.0024


def test_a_prompt_above_a_tier_pays_the_tier_rates_on_every_token() -> None:
    at_threshold = token_cost(SONNET, 200_000, 1000)  # 200000 * 3 + 1000 * 15 = 615000
    above = token_cost(SONNET, 200_001, 1000, cache_read_tokens=1)  # 200000 * 6 + 1 * 0.6 + 1000 * 22.5
    assert (at_threshold, above) == (0.615, 1.2225006)


def test_missing_counts_cost_nothing_and_inconsistent_ones_never_go_negative() -> None:
    assert cost(Usage(), HAIKU) == 0.0
    assert cost(Usage(output_tokens=10), HAIKU) == 0.00005
    # cache counts above the prompt (a provider that double-reports): the uncached part is 0
    assert cost(Usage(input_tokens=10, cache_read_tokens=20), HAIKU) == 0.000002


def test_the_cost_is_rounded_to_ten_places() -> None:
    assert token_cost(Price(input=0.1234567, output=0.0), 3, 0) == 0.0000003704


class Table:
    def __init__(self, prices: dict[tuple[str, str], Price]) -> None:
        self.prices = prices
        self.asked: list[tuple[str, str]] = []

    def price(self, provider: str, model: str) -> Price | None:
        self.asked.append((provider, model))
        return self.prices.get((provider, model))


def test_a_record_is_priced_from_its_usage_and_the_deployment_that_served_it() -> None:
    record = RequestRecord()
    record.provider, record.upstream_model = "anth", "haiku"
    record.record_usage(Usage(input_tokens=6100, output_tokens=500, cache_read_tokens=4000, cache_creation_tokens=2000))
    price_record(record, Table({("anth", "haiku"): HAIKU}))
    assert record.cost_usd == 0.0055


def test_an_unpriced_deployment_costs_zero_and_an_unserved_request_nothing() -> None:
    table = Table({})
    served, unserved = RequestRecord(), RequestRecord()
    served.provider, served.upstream_model, served.output_tokens = "local", "llama", 100
    price_record(served, table)
    price_record(unserved, table)
    assert (served.cost_usd, unserved.cost_usd, table.asked) == (0.0, None, [("local", "llama")])


USAGE = Usage(input_tokens=6100, output_tokens=500, cache_read_tokens=4000, cache_creation_tokens=2000)


class Provider:
    name = "anth"
    protocol = "anthropic"
    counts_locally = False

    async def complete(self, request: ChatRequest, model: str) -> ChatResponse:
        return ChatResponse(id="r", model=model, content=[TextBlock(text="hi")], usage=USAGE)

    async def stream(self, request: ChatRequest, model: str) -> AsyncIterator[AnyEvent]:
        # Anthropic's way: the prompt's counts at the start, the output's at the end
        yield MessageStart(id="m", model=model, usage=Usage(input_tokens=6100, output_tokens=1,
                                                            cache_read_tokens=4000, cache_creation_tokens=2000))
        yield MessageDelta(stop_reason="end_turn", usage=Usage(output_tokens=500))
        yield MessageStop()

    async def count_tokens(self, request: ChatRequest, model: str) -> int:
        return 1


def service() -> ChatService:
    table = RoutingTable(default=Destination.single("anth", "haiku"))
    return ChatService(table, {"anth": Provider()}, prices=Table({("anth", "haiku"): HAIKU}))


REQUEST = ChatRequest(model="m", messages=[Message(role="user", content=[TextBlock(text="hi")])])


async def test_the_service_prices_a_response_before_returning_it() -> None:
    record = RequestRecord()
    await service().complete(REQUEST, record)
    assert record.cost_usd == 0.0055


@pytest.mark.parametrize("read_all", [True, False])
async def test_the_service_prices_a_stream_when_it_ends(read_all: bool) -> None:
    record = RequestRecord()
    events = await service().stream(REQUEST, record)
    async with aclosing(events):  # type: ignore[type-var]
        first = await anext(events)
        assert isinstance(first, MessageStart) and record.cost_usd is None  # not before it ends
        if read_all:
            _ = [e async for e in events]
    # read to its end: the whole usage; closed early (the client left): what was seen by then,
    # the prompt and 1 output token: 100 * 1 + 4000 * 0.1 + 2000 * 1.25 + 1 * 5 = 3005 per million
    assert record.cost_usd == (0.0055 if read_all else 0.003005)
