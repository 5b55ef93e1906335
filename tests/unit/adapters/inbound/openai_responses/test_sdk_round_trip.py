"""The official SDK against the codec alone (an ``httpx.MockTransport`` in place of the server):
what the SDK sends decodes, what the codec answers the SDK reads, streams and follow-ups
included. The fake gateway below does what the Responses route has to: parse, look up the
history, build the IR, answer, store the turn before the final event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import openai
import pydantic

from adapters.inbound.openai_responses.decode import parse, to_ir
from adapters.inbound.openai_responses.encode import encode_response, from_ir
from adapters.inbound.openai_responses.history import history_items, turn_record
from adapters.inbound.openai_responses.stream import encode_stream
from adapters.protocols.openai.responses.response import Response
from domain.ir import AnyEvent, ChatRequest, ChatResponse, TextBlock, ToolUseBlock, Usage
from tests.unit.adapters.inbound.openai_responses.support import (
    aiter_of,
    end,
    record_for,
    start,
    text_block,
    tool_block,
)

Answer = Callable[[ChatRequest], ChatResponse | list[AnyEvent]]


class FakeGateway:
    """The codec behind a mock transport; ``answer`` plays the upstream model."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.turns: dict[str, bytes] = {}
        self.requests: list[ChatRequest] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        call = parse(request.content)
        history: list[msgspec.Raw] = []
        if call.previous_response_id is not None:
            history = history_items(self.turns[call.previous_response_id])
        ir = to_ir(call, history)
        self.requests.append(ir)
        answer, ex = self.answer(ir), record_for("anthropic")

        async def store(response: Response) -> None:
            if call.store:
                self.turns[call.response_id] = turn_record(call, history, response)

        if isinstance(answer, ChatResponse):
            response = from_ir(answer, call, ex)
            await store(response)
            return httpx.Response(
                200, content=encode_response(response), headers={"content-type": "application/json"}
            )
        frames = encode_stream(aiter_of(answer), call, ex, store)
        body = b"".join([frame async for frame in frames])
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    def client(self) -> openai.AsyncOpenAI:
        transport = httpx.MockTransport(self)
        return openai.AsyncOpenAI(
            api_key="unused",
            base_url="http://gateway.test/v1",
            http_client=httpx.AsyncClient(transport=transport),
        )


def reply(*blocks: Any) -> ChatResponse:
    stop = "tool_use" if any(isinstance(b, ToolUseBlock) for b in blocks) else "end_turn"
    return ChatResponse(
        id="msg_x",
        model="claude-sonnet-4-5",
        content=list(blocks),
        stop_reason=stop,
        usage=Usage(input_tokens=9, output_tokens=4),
    )


WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather of a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


async def test_create_with_a_tool_round_trip() -> None:
    def answer(request: ChatRequest) -> ChatResponse:
        if len(request.messages) == 1:
            return reply(
                ToolUseBlock(id="toolu_7", name="get_weather", input=msgspec.Raw(b'{"city":"Paris"}'))
            )
        return reply(TextBlock(text="It rains in Paris."))

    gateway = FakeGateway(answer)
    client = gateway.client()
    first = await client.responses.create(
        model="claude-sonnet-4-5", input="Weather in Paris?", tools=[WEATHER]
    )
    (call,) = first.output
    assert call.type == "function_call" and call.call_id == "toolu_7"

    second = await client.responses.create(
        model="claude-sonnet-4-5",
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            *[item.model_dump(exclude_none=True) for item in first.output],
            {"type": "function_call_output", "call_id": call.call_id, "output": "Rain"},
        ],
        tools=[WEATHER],
    )
    assert second.output_text == "It rains in Paris."
    assert [m.role for m in gateway.requests[1].messages] == ["user", "assistant", "user"]


async def test_previous_response_id_carries_the_conversation() -> None:
    gateway = FakeGateway(lambda request: reply(TextBlock(text=f"{len(request.messages)} messages so far")))
    client = gateway.client()
    first = await client.responses.create(model="m", input="Hi", instructions="Be terse.")
    second = await client.responses.create(model="m", input="And now?", previous_response_id=first.id)
    assert second.output_text == "3 messages so far"
    assert second.previous_response_id == first.id
    assert gateway.requests[1].system is msgspec.UNSET  # instructions are per turn


async def test_stream_with_final_response_and_a_json_schema() -> None:
    class Weather(pydantic.BaseModel):
        city: str
        celsius: int

    gateway = FakeGateway(
        lambda request: [start(), *text_block(0, '{"city":"Paris",', '"celsius":12}'), *end()]
    )
    client = gateway.client()
    async with client.responses.stream(
        model="m", input="Weather in Paris as JSON", text_format=Weather
    ) as stream:
        deltas = [event.delta async for event in stream if event.type == "response.output_text.delta"]
        final = await stream.get_final_response()

    assert deltas == ['{"city":"Paris",', '"celsius":12}']
    assert final.output_parsed == Weather(city="Paris", celsius=12)
    response_format = msgspec.json.decode(gateway.requests[0].response_format)  # type: ignore[arg-type]
    assert response_format["type"] == "json_schema" and response_format["json_schema"]["name"] == "Weather"
    assert final.id in gateway.turns  # stored before the final event


async def test_stream_with_tool_calls_before_text() -> None:
    events = [
        start(),
        *tool_block(0, "toolu_1", "get_weather", '{"city":"Oslo"}'),
        *text_block(1, "Checking."),
        *end("tool_use"),
    ]
    gateway = FakeGateway(lambda request: events)
    async with gateway.client().responses.stream(
        model="m", input="Weather?", tools=[WEATHER], store=False
    ) as stream:
        final = await stream.get_final_response()
    assert [item.type for item in final.output] == ["function_call", "message"]
    assert final.output[0].parsed_arguments == {"city": "Oslo"}  # type: ignore[union-attr]
    assert gateway.turns == {}  # store: false keeps nothing
