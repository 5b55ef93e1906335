"""The OpenAI Agents SDK (its default model, the Responses API) running an agent with a function
tool through the real gateway on an Anthropic-protocol upstream (the local fake)."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

from tests.e2e.conftest import Gateway
from tests.e2e.turns import anthropic_json, anthropic_sse, text, tool_call
from tests.fakes.upstream import FakeUpstream

MODEL = "claude-3-5-haiku"  # routed to the anthropic provider
set_tracing_disabled(True)  # the SDK would otherwise send traces to OpenAI


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"It rains in {city}, 12°C."


def agent_for(gateway: Gateway) -> Agent[Any]:
    client = openai.AsyncOpenAI(base_url=f"{gateway.url}/openai/v1", api_key="client-own-key", max_retries=0)
    model = OpenAIResponsesModel(model=MODEL, openai_client=client)
    return Agent(name="weather", instructions="Answer with the tool's help.", tools=[get_weather], model=model)


CALL = tool_call("toolu_agents", "get_weather", {"city": "Paris"})
ANSWER = text("Rainy: 12°C.")


def check_upstream_saw_the_round_trip(upstream: FakeUpstream) -> None:
    first, second = [r.json for r in upstream.requests if r.path == "/v1/messages"]
    assert [t["name"] for t in first["tools"]] == ["get_weather"]
    result = second["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and result["tool_use_id"] == "toolu_agents"
    assert "It rains in Paris" in str(result["content"])


def test_an_agent_calls_its_function_tool(gateway: Gateway, upstream: FakeUpstream) -> None:
    upstream.script_for("/v1/messages", anthropic_json(CALL), anthropic_json(ANSWER))
    result = asyncio.run(Runner.run(agent_for(gateway), "What's the weather in Paris?"))
    assert result.final_output == "Rainy: 12°C."
    check_upstream_saw_the_round_trip(upstream)


def test_a_streamed_agent_run(gateway: Gateway, upstream: FakeUpstream) -> None:
    upstream.script_for("/v1/messages", anthropic_sse(CALL), anthropic_sse(ANSWER))

    async def run() -> tuple[str, list[str]]:
        streamed = Runner.run_streamed(agent_for(gateway), "What's the weather in Paris?")
        kinds = [event.type async for event in streamed.stream_events()]
        return str(streamed.final_output), kinds

    final, kinds = asyncio.run(run())
    assert final == "Rainy: 12°C."
    assert "raw_response_event" in kinds and "run_item_stream_event" in kinds
    check_upstream_saw_the_round_trip(upstream)
