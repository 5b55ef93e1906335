"""A Responses API client body -> ``ResponsesCall`` -> IR ``ChatRequest``.

Two steps, because a follow-up turn's history is found from the body: ``parse`` decodes and
checks the body (every client mistake is a 400 naming the parameter) and mints the response
id; the caller then looks up what ``previous_response_id`` names, and ``to_ir`` builds the IR
from that history and the turn's own input. Mapping choices:

- ``instructions`` -> the first system text, for this turn only (a stored turn keeps its input
  and output items, never its instructions); ``system``/``developer`` messages follow it.
- ``max_output_tokens`` -> ``max_tokens``; ``user`` (else ``safety_identifier``) -> ``user``;
  ``temperature``, ``top_p``, ``parallel_tool_calls`` as they are; ``null`` means "not sent".
- ``reasoning.effort``: ``none`` -> reasoning disabled, any other -> ``Reasoning(effort)``
  (the providers map it to a thinking budget or ``reasoning_effort``).
- ``tools``, ``tool_choice``, ``text.format``: see ``tools.py``; ``input`` items: ``items.py``.
- Dropped, and named in one ``request.param_dropped`` line: tools other than function and
  custom tools (and a tool choice naming one), ``text.verbosity``, ``top_logprobs``,
  ``truncation: auto``. Accepted and not mapped: ``include``, ``prompt_cache_key``,
  ``service_tier``, ``max_tool_calls``, ``reasoning.summary`` (summaries are always given).
- Refused (400): ``conversation``, ``prompt`` and ``background``, which need OpenAI's servers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import structlog
from msgspec import UNSET

from adapters.inbound.openai_responses.items import Conversation, add_items
from adapters.inbound.openai_responses.tools import text_format_to_ir, tool_choice_to_ir, tools_to_ir
from adapters.inbound.openai_responses.validation import decode_at, missing, validation_error
from adapters.protocols.openai.responses import request as wire
from adapters.protocols.openai.responses.response import Response
from domain.errors import GatewayError, invalid_request
from domain.ir import ChatRequest, Reasoning, TextBlock

log = structlog.get_logger(__name__)

_request = msgspec.json.Decoder(wire.ResponsesRequest)
_fields = msgspec.json.Decoder(dict[str, msgspec.Raw])
_reasoning = msgspec.json.Decoder(wire.ReasoningConfig | None)
_encode = msgspec.json.Encoder().encode

_NULL = b"null"
_DEFAULT_REASONING = msgspec.Raw(b'{"effort":null,"summary":null}')
_DEFAULT_TEXT = msgspec.Raw(b'{"format":{"type":"text"},"verbosity":"medium"}')
_AUTO = msgspec.Raw(b'"auto"')
_EMPTY = msgspec.Raw(b"{}")
_PLAIN_PARAMS = ("temperature", "top_p", "parallel_tool_calls")
HISTORY = "previous_response_id"  # where history items are said to be, in error messages


def new_id(prefix: str) -> str:
    """An id like the API's: a type prefix (``resp``, ``msg``, ``fc``, ``rs``) and 48 hex digits."""
    return f"{prefix}_{os.urandom(24).hex()}"


@dataclass(frozen=True, slots=True)
class ResponsesCall:
    """One ``POST /v1/responses`` request, decoded and checked."""

    request: wire.ResponsesRequest
    response_id: str  # minted once: every event and the stored turn carry it
    created_at: int
    stream: bool
    store: bool  # the API's default is true
    previous_response_id: str | None
    input_items: list[msgspec.Raw]  # this turn's input as items (a string input: one user message)
    head: Response  # the Response echoing the request: status in_progress, no output yet
    params: dict[str, Any]  # IR parameters besides the model, system and messages
    custom_tools: frozenset[str] = frozenset()  # their calls are answered as custom_tool_call items
    # The items of the turns previous_response_id continues, once looked up (oldest first).
    history: list[msgspec.Raw] = field(default_factory=list)
    # The body's top-level fields undecoded, for an upstream that speaks the Responses API.
    fields: dict[str, msgspec.Raw] = field(default_factory=dict)


def parse(body: bytes) -> ResponsesCall:
    """Decode and check a client's body; raise ``INVALID_REQUEST`` naming the offending field."""
    try:
        req = _request.decode(body)
    except msgspec.ValidationError as exc:
        raise validation_error(exc) from None
    except msgspec.DecodeError as exc:
        raise invalid_request(f"We could not parse the JSON body of your request ({exc}).") from None
    except RecursionError:
        raise invalid_request("The JSON body of your request is nested too deeply.") from None
    previous = req.previous_response_id if isinstance(req.previous_response_id, str) else None
    if isinstance(req.input, str):
        items = [msgspec.Raw(_encode(_user_message(req.input)))]
    elif isinstance(req.input, list):
        items = req.input
    elif previous is None:
        raise missing("input")
    else:
        items = []
    dropped: list[str] = []
    params, custom_tools = _params(req, dropped)
    if dropped:
        log.info("request.param_dropped", params=dropped, protocol="openai_responses")
    response_id = new_id("resp")
    created_at = int(time.time())
    return ResponsesCall(
        request=req,
        response_id=response_id,
        created_at=created_at,
        stream=req.stream is True,
        store=req.store is not False,
        previous_response_id=previous,
        input_items=items,
        head=_head(req, response_id, created_at),
        params=params,
        custom_tools=custom_tools,
        fields=_fields.decode(body),
    )


def to_ir(call: ResponsesCall, history: Sequence[msgspec.Raw] = ()) -> ChatRequest:
    """The IR request of ``call``; ``history`` is the input and output items of the turns
    ``previous_response_id`` continues (``history.history_items``), oldest first."""
    _refuse_server_state(call.request)
    out = Conversation()
    instructions = call.request.instructions
    if isinstance(instructions, str) and instructions:
        out.system.append(TextBlock(text=instructions))
    add_items(history, HISTORY, out)
    add_items(call.input_items, "input", out)
    if not out.messages:
        raise invalid_request("The request has no input: send at least one input item.", param="input")
    return ChatRequest(
        model=call.request.model,
        messages=out.messages,
        system=out.system or UNSET,
        stream=call.stream,
        **call.params,
    )


def _user_message(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def _params(req: wire.ResponsesRequest, dropped: list[str]) -> tuple[dict[str, Any], frozenset[str]]:
    params: dict[str, Any] = {
        name: value
        for name in _PLAIN_PARAMS
        if (value := getattr(req, name)) is not None and value is not UNSET
    }
    if isinstance(req.max_output_tokens, int):
        params["max_tokens"] = req.max_output_tokens
    user = req.user if isinstance(req.user, str) else req.safety_identifier
    if isinstance(user, str):
        params["user"] = user
    tools, custom_tools = (
        tools_to_ir(req.tools, dropped) if isinstance(req.tools, list) else ([], frozenset())
    )
    if tools:
        params["tools"] = tools
    choice = UNSET if req.tool_choice is UNSET else tool_choice_to_ir(req.tool_choice, dropped)
    if choice is not UNSET:
        params["tool_choice"] = choice
    if req.reasoning is not UNSET:
        config = decode_at(_reasoning, req.reasoning, "reasoning")
        if config is not None and isinstance(config.effort, str):
            params["reasoning"] = (
                Reasoning(enabled=False) if config.effort == "none" else Reasoning(effort=config.effort)
            )
    if req.text is not UNSET and (response_format := text_format_to_ir(req.text, dropped)) is not UNSET:
        params["response_format"] = response_format
    if isinstance(req.top_logprobs, int) and req.top_logprobs > 0:
        dropped.append("top_logprobs")
    if req.truncation == "auto":
        dropped.append("truncation")
    return params, custom_tools


def _refuse_server_state(req: wire.ResponsesRequest) -> None:
    refusal: GatewayError | None = None
    if req.conversation is not UNSET and req.conversation != _NULL:
        refusal = invalid_request(
            "Conversations are not supported by this gateway: continue a conversation with "
            "previous_response_id, or send its items in input.",
            param="conversation",
        )
    elif req.prompt is not UNSET and req.prompt != _NULL:
        refusal = invalid_request(
            "Prompt templates are stored by OpenAI and are not supported by this gateway: send "
            "the prompt as instructions and input.",
            param="prompt",
        )
    elif req.background is True:
        refusal = invalid_request(
            "Background responses are not supported by this gateway.", param="background"
        )
    if refusal is not None:
        raise refusal


def _raw(value: msgspec.Raw | msgspec.UnsetType, default: msgspec.Raw) -> msgspec.Raw:
    return default if value is UNSET or value == _NULL else value


def _head(req: wire.ResponsesRequest, response_id: str, created_at: int) -> Response:
    def opt(value: Any) -> Any:
        return None if value is UNSET else value

    return Response(
        id=response_id,
        created_at=created_at,
        status="in_progress",
        instructions=opt(req.instructions),
        max_output_tokens=opt(req.max_output_tokens),
        max_tool_calls=opt(req.max_tool_calls),
        model=req.model,
        parallel_tool_calls=req.parallel_tool_calls is not False,
        previous_response_id=opt(req.previous_response_id),
        prompt_cache_key=opt(req.prompt_cache_key),
        reasoning=_raw(req.reasoning, _DEFAULT_REASONING),
        safety_identifier=opt(req.safety_identifier),
        store=req.store is not False,
        temperature=1.0 if req.temperature is None or req.temperature is UNSET else req.temperature,
        text=_raw(req.text, _DEFAULT_TEXT),
        tool_choice=_raw(req.tool_choice, _AUTO),
        tools=req.tools if isinstance(req.tools, list) else [],
        top_logprobs=req.top_logprobs if isinstance(req.top_logprobs, int) else 0,
        top_p=1.0 if req.top_p is None or req.top_p is UNSET else req.top_p,
        truncation=req.truncation if isinstance(req.truncation, str) else "disabled",
        user=opt(req.user),
        metadata=_raw(req.metadata, _EMPTY),
    )
