"""Bad OpenAI client bodies -> ``GatewayError(INVALID_REQUEST)`` naming the field."""

from __future__ import annotations

import msgspec
import pytest

from adapters.inbound.openai.decode import to_ir
from domain.errors import ErrorKind, GatewayError

OK_MESSAGES = b'"messages":[{"role":"user","content":"Hi"}]'


@pytest.mark.parametrize(
    ("body", "message", "param"),
    [
        pytest.param(b'{"model": "m", ', "We could not parse the JSON body", None, id="truncated"),
        pytest.param(b"", "We could not parse the JSON body of your request", None, id="empty"),
        pytest.param(b'{"model": m}', "JSON is malformed", None, id="malformed"),
        pytest.param(b'[{"model": "m"}]', "Expected `object`, got `array`", None, id="array-body"),
        pytest.param(b'"hello"', "Expected `object`, got `str`", None, id="string-body"),
        pytest.param(b"{" + OK_MESSAGES + b"}", "missing required field `model`", "model", id="no-model"),
        pytest.param(b'{"model":"m"}', "missing required field `messages`", "messages", id="no-messages"),
        pytest.param(
            b'{"model":42,' + OK_MESSAGES + b"}",
            "Expected `str`, got `int` - at `$.model`",
            "model",
            id="model-int",
        ),
        pytest.param(
            b'{"model":"m","messages":{}}',
            "Expected `array`, got `object` - at `$.messages`",
            "messages",
            id="messages-object",
        ),
        pytest.param(
            b'{"model":"m","messages":[{"content":"Hi"}]}',
            "Object missing required field `role` - at `$.messages[0]`",
            "messages[0].role",
            id="missing-role",
        ),
        pytest.param(
            b'{"model":"m","messages":[{"role":"robot","content":"Hi"}]}',
            "Invalid value 'robot' - at `$.messages[0].role`",
            "messages[0].role",
            id="unknown-role",
        ),
        pytest.param(
            b'{"model":"m","messages":[{"role":"user"}]}',
            "Object missing required field `content` - at `$.messages[0]`",
            "messages[0].content",
            id="user-without-content",
        ),
        pytest.param(
            b'{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":7}]}]}',
            "Expected `str`, got `int` - at `$.messages[0].content[0].text`",
            "messages[0].content[0].text",
            id="part-text-int",
        ),
        pytest.param(
            b'{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}',
            "Missing required parameter: 'messages[0].content[0].text'",
            "messages[0].content[0].text",
            id="part-without-text",
        ),
        pytest.param(
            b'{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}',
            "Missing required parameter: 'messages[0].content[0].image_url'",
            "messages[0].content[0].image_url",
            id="part-without-image-url",
        ),
        pytest.param(
            b'{"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]}',
            "Object missing required field `type` - at `$.messages[0].content[0]`",
            "messages[0].content[0].type",
            id="part-without-type",
        ),
        pytest.param(
            b'{"model":"m","messages":[{"role":"system","content":[{"type":"image_url"}]}]}',
            "Invalid value 'image_url' - at `$.messages[0].content[0].type`",
            "messages[0].content[0].type",
            id="system-image-part",
        ),
        pytest.param(
            b'{"model":"m","messages":[{"role":"tool","content":"x"}]}',
            "Object missing required field `tool_call_id` - at `$.messages[0]`",
            "messages[0].tool_call_id",
            id="tool-without-call-id",
        ),
        pytest.param(
            b'{"model":"m","messages":[{"role":"function","name":"f","content":"42"}]}',
            "The legacy 'function' role is not supported",
            "messages[0].role",
            id="function-role",
        ),
        pytest.param(
            b'{"model":"m","messages":[{"role":"assistant","function_call":{"name":"f","arguments":"{}"}}]}',
            "The legacy assistant 'function_call' is not supported",
            "messages[0].function_call",
            id="assistant-function-call",
        ),
        pytest.param(
            b'{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function"}]}]}',
            "Missing required parameter: 'messages[0].tool_calls[0].function'",
            "messages[0].tool_calls[0].function",
            id="function-tool-call-without-function",
        ),
        pytest.param(
            b'{"model":"m","temperature":"hot",' + OK_MESSAGES + b"}",
            "Expected `float | null`, got `str` - at `$.temperature`",
            "temperature",
            id="temperature-str",
        ),
        pytest.param(
            b'{"model":"m","stream":"yes",' + OK_MESSAGES + b"}",
            "Expected `bool | null`, got `str` - at `$.stream`",
            "stream",
            id="stream-str",
        ),
        pytest.param(
            b'{"model":"m","tool_choice":"always",' + OK_MESSAGES + b"}",
            "Invalid value: 'always'. Supported values are: 'none', 'auto', and 'required'.",
            "tool_choice",
            id="tool-choice-unknown",
        ),
        pytest.param(
            b'{"model":"m","tools":[{"type":"function"}],' + OK_MESSAGES + b"}",
            "Missing required parameter: 'tools[0].function'",
            "tools[0].function",
            id="function-tool-without-function",
        ),
        pytest.param(
            b'{"model":"m","tools":[{"type":"function","function":{"name":1}}],' + OK_MESSAGES + b"}",
            "Expected `str`, got `int` - at `$.tools[0].function.name`",
            "tools[0].function.name",
            id="tool-name-int",
        ),
    ],
)
def test_bad_bodies_are_invalid_requests_naming_the_field(
    body: bytes, message: str, param: str | None
) -> None:
    with pytest.raises(GatewayError) as caught:
        to_ir(body)
    error = caught.value
    assert error.kind is ErrorKind.INVALID_REQUEST
    assert error.client_status == 400
    assert message in error.message
    assert error.param == param


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param('{"city": "Par', id="truncated-json"),
        pytest.param("[1, 2]", id="array"),
        pytest.param('"Paris"', id="string"),
        pytest.param("null", id="null"),
        pytest.param("city=Paris", id="not-json"),
    ],
)
def test_tool_call_arguments_that_are_not_a_json_object_are_kept_as_raw_text(arguments: str) -> None:
    """OpenAI accepts any string (a history may hold a truncated model output): not a 400."""
    call = {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "tool_calls": [call]}]
    body = msgspec.json.encode({"model": "m", "messages": messages})
    request = to_ir(body)
    (block,) = request.messages[1].content
    assert msgspec.json.decode(block.input) == {"_raw_arguments": arguments}
    assert msgspec.json.decode(request.native.fields["messages"]) == messages  # forwarded untouched
