"""Upstream chat.completion bodies -> IR ChatResponse."""

from __future__ import annotations

import msgspec
import pytest

from adapters.outbound.openai.response import parse_response
from domain.errors import ErrorKind, GatewayError
from domain.ir import UNSET, NativeResponse, TextBlock, ThinkingBlock, ToolUseBlock, Usage
from tests.conftest import fixture_bytes


def completion(message: dict, finish_reason: str | None = "stop", **choice: object) -> bytes:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", **message},
                "finish_reason": finish_reason,
                **choice,
            }
        ],
    }
    return msgspec.json.encode(body)


def test_text_completion_maps_content_stop_reason_usage_and_keeps_the_body() -> None:
    body = fixture_bytes("openai/chat_text.json")
    expected_text = msgspec.json.decode(body)["choices"][0]["message"]["content"]

    response = parse_response(body)

    assert response.id == "chatcmpl-C0b2mcSAsZKHL1fyK2dB5v09URmaL"
    assert response.model == "gpt-4o-mini"
    assert response.created == 1795730117
    assert response.content == [TextBlock(text=expected_text)]
    assert response.stop_reason == "end_turn"
    assert response.stop_sequence is None
    assert response.usage == Usage(input_tokens=17, output_tokens=23, cache_read_tokens=0, reasoning_tokens=0)
    assert response.native == NativeResponse(protocol="openai", body=body)


def test_parallel_tool_calls_become_tool_use_blocks_with_their_arguments_verbatim() -> None:
    body = fixture_bytes("openai/chat_tool_calls_parallel.json")
    calls = msgspec.json.decode(body)["choices"][0]["message"]["tool_calls"]

    response = parse_response(body)

    assert [(b.id, b.name) for b in response.content if isinstance(b, ToolUseBlock)] == [
        ("call_aMjReB6JW2Ik6vrDQcU7pOKp", "get_weather"),
        ("call_eEyGjYbpXHUTOFVaunImkAqZ", "get_time"),
    ]
    assert [bytes(b.input).decode() for b in response.content] == [c["function"]["arguments"] for c in calls]
    assert response.stop_reason == "tool_use"


def test_reasoning_content_becomes_a_thinking_block_before_the_text_with_cache_and_reasoning_usage() -> None:
    response = parse_response(fixture_bytes("openai/chat_reasoning_content.json"))

    assert response.content == [
        ThinkingBlock(thinking="The user asks for the answer. Think: 6 * 7 = 42."),
        TextBlock(text="The answer is 42."),
    ]
    assert response.usage == Usage(
        input_tokens=30, output_tokens=48, cache_read_tokens=16, reasoning_tokens=40
    )


def test_reasoning_field_of_openrouter_and_newer_vllm_is_thinking_too() -> None:
    response = parse_response(completion({"content": "42", "reasoning": "6*7"}))

    assert response.content == [ThinkingBlock(thinking="6*7"), TextBlock(text="42")]


def test_reasoning_sent_as_an_object_is_tolerated_and_ignored() -> None:
    response = parse_response(completion({"content": "42", "reasoning": {"summary": "x"}}))

    assert response.content == [TextBlock(text="42")]


def test_vllm_stop_string_makes_a_stop_sequence_stop() -> None:
    response = parse_response(fixture_bytes("openai/chat_vllm_stop_string.json"))

    assert response.content == [TextBlock(text="1, 2, 3")]
    assert (response.stop_reason, response.stop_sequence) == ("stop_sequence", "END")
    assert response.usage == Usage(input_tokens=12, output_tokens=5)


def test_vllm_stop_token_id_is_an_ordinary_end_turn() -> None:
    response = parse_response(completion({"content": "x"}, stop_reason=128009))

    assert (response.stop_reason, response.stop_sequence) == ("end_turn", None)


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("function_call", "tool_use"),
        ("content_filter", "content_filter"),
        ("something_new", "end_turn"),
        (None, None),
    ],
)
def test_finish_reasons_map_to_ir_stop_reasons(finish_reason: str | None, stop_reason: str | None) -> None:
    assert parse_response(completion({"content": "x"}, finish_reason)).stop_reason == stop_reason


def test_tool_calls_finished_with_stop_by_some_servers_are_still_tool_use() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    body = completion({"content": None, "tool_calls": [call]}, "stop")
    assert parse_response(body).stop_reason == "tool_use"


def test_refusal_becomes_text() -> None:
    response = parse_response(completion({"content": None, "refusal": "I can't help with that."}))

    assert response.content == [TextBlock(text="I can't help with that.")]


def test_content_as_a_list_of_parts_keeps_its_text_parts() -> None:
    parts = [
        {"type": "text", "text": "a"},
        {"type": "image_url", "image_url": {}},
        {"type": "text", "text": "b"},
    ]
    assert parse_response(completion({"content": parts})).content == [TextBlock(text="ab")]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"a": [1, {"b": null}]}', b'{"a": [1, {"b": null}]}'),
        ("", b"{}"),
        ("   ", b"{}"),
        ('{"city": "Par', b'{"_raw_arguments":"{\\"city\\": \\"Par"}'),  # cut short by max_tokens
        ("[1, 2]", b'{"_raw_arguments":"[1, 2]"}'),  # valid JSON, but not an object
    ],
)
def test_tool_arguments_always_become_a_json_object(arguments: str, expected: bytes) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    (block,) = parse_response(completion({"content": None, "tool_calls": [call]}, "length")).content

    assert isinstance(block, ToolUseBlock)
    assert bytes(block.input) == expected
    assert isinstance(msgspec.json.decode(bytes(block.input)), dict)


def test_legacy_function_call_becomes_a_tool_use_with_a_generated_id() -> None:
    call = {"name": "f", "arguments": '{"x":1}'}
    body = completion({"content": None, "function_call": call}, "function_call")
    (block,) = parse_response(body).content

    assert isinstance(block, ToolUseBlock)
    assert (block.name, bytes(block.input)) == ("f", b'{"x":1}')
    assert block.id.startswith("call_") and len(block.id) == 29


def test_unknown_fields_and_nulls_are_tolerated() -> None:
    body = (
        b'{"id":"x","model":"m","created":5,"choices":[{"index":0,'
        b'"message":{"role":"assistant","content":"hi","audio":null,"tool_calls":null,"future":{"a":1}},'
        b'"finish_reason":"stop","logprobs":null,"extra":1}],'
        b'"usage":{"prompt_tokens":1,"completion_tokens":2,"prompt_tokens_details":null,'
        b'"completion_tokens_details":null},"brand_new":[1,2]}'
    )
    response = parse_response(body)

    assert response.content == [TextBlock(text="hi")]
    assert response.usage == Usage(input_tokens=1, output_tokens=2)


def test_missing_usage_is_unknown_not_zero() -> None:
    assert parse_response(completion({"content": "x"})).usage == Usage()
    assert parse_response(completion({"content": "x"})).usage.input_tokens is UNSET


@pytest.mark.parametrize(
    "body", [b"", b"not json", b'{"choices": "nope"}', b"[]", b'{"id": "x", "choices": [{"message": 3}]}']
)
def test_malformed_body_is_a_protocol_error(body: bytes) -> None:
    with pytest.raises(GatewayError) as caught:
        parse_response(body)
    assert caught.value.kind is ErrorKind.PROTOCOL


def test_a_200_carrying_an_error_body_is_an_error() -> None:
    body = (
        b'{"error":{"message":"Rate limit reached","type":"requests","param":null,'
        b'"code":"rate_limit_exceeded"}}'
    )
    with pytest.raises(GatewayError) as caught:
        parse_response(body)
    assert (caught.value.kind, caught.value.message) == (ErrorKind.RATE_LIMITED, "Rate limit reached")


def test_a_relayed_completion_reads_only_ids_usage_and_errors() -> None:
    """An OpenAI client gets the upstream body as it is: no IR content is built for it."""
    from adapters.outbound.openai.response import parse_response as parse

    body = fixture_bytes("openai/chat_tool_calls_parallel.json")
    light, full = parse(body, content=False), parse(body)
    assert light.content == [] and light.native == full.native
    assert (light.id, light.model, light.usage, light.created) == (full.id, full.model, full.usage, full.created)


def test_a_relayed_completion_that_is_an_error_body_still_raises() -> None:
    body = b'{"error": {"message": "model overloaded", "type": "server_error", "code": 503}}'
    with pytest.raises(GatewayError):
        parse_response(body, content=False)
