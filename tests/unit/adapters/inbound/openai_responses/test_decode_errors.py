"""A client's mistake in a Responses body is a 400 in OpenAI's shape naming the parameter."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from adapters.inbound.openai.errors import error_body
from adapters.inbound.openai_responses.decode import parse, to_ir
from domain.errors import ErrorKind, GatewayError


def failure(body: bytes | dict[str, Any]) -> GatewayError:
    raw = body if isinstance(body, bytes) else msgspec.json.encode(body)
    with pytest.raises(GatewayError) as caught:
        to_ir(parse(raw))
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert caught.value.client_status == 400
    return caught.value


def param(body: dict[str, Any]) -> str | None:
    return failure({"model": "gpt-5", **body}).param


def test_malformed_json() -> None:
    error = failure(b'{"model": "gpt-5", "input": ')
    assert error.message.startswith("We could not parse the JSON body of your request")


def test_a_body_nested_too_deeply_is_a_client_error() -> None:
    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
    error = failure(b'{"model": "gpt-5", "input": "Hi", "metadata": ' + deep + b"}")
    assert error.message == "The JSON body of your request is nested too deeply."


def test_error_body_has_openais_shape() -> None:
    error = failure({"input": "Hi"})
    assert msgspec.json.decode(error_body(error)) == {
        "error": {
            "message": "Object missing required field `model`",
            "type": "invalid_request_error",
            "param": "model",
            "code": None,
        }
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "input"),
        ({"input": 42}, "input"),
        ({"input": []}, "input"),  # nothing to answer
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"input": [{"type": "message", "content": "x"}]}, "input[0].role"),
        ({"input": [{"role": "user"}]}, "input[0].content"),
        ({"input": [{"content": "x"}]}, "input[0].role"),
        ({"input": [{"role": "user", "content": [{"type": "input_text"}]}]}, "input[0].content[0].text"),
        ({"input": [{"role": "user", "content": [{"text": "x"}]}]}, "input[0].content[0].type"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image"}]}]},
            "input[0].content[0].image_url",
        ),
        (
            {"input": [{"role": "system", "content": [{"type": "input_image", "image_url": "x"}]}]},
            "input[0].content[0].type",
        ),
        ({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id"),
        ({"input": [{"type": "function_call", "call_id": "c", "arguments": "{}"}]}, "input[0].name"),
        ({"input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output"),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"input": ["Hi", {"id": "msg_123"}]}, "input[0]"),
        ({"input": [{"role": "user", "content": "Hi"}, {"id": "msg_123"}]}, "input[1]"),
        ({"input": "Hi", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"input": "Hi", "tools": [{"name": "f"}]}, "tools[0].type"),
        ({"input": "Hi", "tool_choice": "always"}, "tool_choice"),
        ({"input": "Hi", "tool_choice": {"type": "function"}}, "tool_choice.name"),
        ({"input": "Hi", "tool_choice": {"type": "allowed_tools", "mode": "sometimes"}}, "tool_choice.mode"),
        ({"input": "Hi", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"input": "Hi", "text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name"),
        ({"input": "Hi", "text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
        ({"input": "Hi", "reasoning": {"effort": 3}}, "reasoning.effort"),
        ({"input": "Hi", "max_output_tokens": "many"}, "max_output_tokens"),
        ({"input": "Hi", "conversation": "conv_123"}, "conversation"),
        ({"input": "Hi", "prompt": {"id": "pmpt_123"}}, "prompt"),
        ({"input": "Hi", "background": True}, "background"),
    ],
)
def test_the_offending_parameter_is_named(body: dict[str, Any], expected: str) -> None:
    assert param(body) == expected


def test_item_references_are_refused_with_a_way_out() -> None:
    error = failure({"model": "gpt-5", "input": [{"type": "item_reference", "id": "msg_123"}]})
    assert "previous_response_id" in error.message


def test_a_tampered_reasoning_item_is_refused() -> None:
    item = {"type": "reasoning", "summary": [], "encrypted_content": "gateway.v1.not-base64!"}
    error = failure({"model": "gpt-5", "input": [item]})
    assert error.param == "input[0].encrypted_content"
    assert "exactly as they were received" in error.message
