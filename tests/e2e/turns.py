"""Scripted model turns for the fakes, in each upstream protocol and both answer forms: a text
answer or a tool call, as a whole JSON body or as the SSE frames of a stream."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from tests.fakes.upstream import Reply, Stream

_ENCODE = msgspec.json.encode


def _frame(event: str | None, data: Any) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + (data if isinstance(data, bytes) else _ENCODE(data)) + b"\n\n"


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


# --- Anthropic Messages -------------------------------------------------------------------------


def anthropic_json(*blocks: dict[str, Any], model: str = "claude-3-5-haiku") -> Reply:
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    body = {
        "id": "msg_scripted", "type": "message", "role": "assistant", "model": model,
        "content": list(blocks), "stop_reason": stop, "stop_sequence": None,
        "usage": {"input_tokens": 30, "output_tokens": 12},
    }  # fmt: skip
    return Reply(200, _ENCODE(body))


def anthropic_sse(*blocks: dict[str, Any], model: str = "claude-3-5-haiku") -> Stream:
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    message = {
        "id": "msg_scripted", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 30, "output_tokens": 1},
    }  # fmt: skip
    frames = [_frame("message_start", {"type": "message_start", "message": message})]
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            start, delta = {"type": "text", "text": ""}, {"type": "text_delta", "text": block["text"]}
        else:
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        frames.append(_frame("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}))
        frames.append(_frame("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        frames.append(_frame("content_block_stop", {"type": "content_block_stop", "index": index}))
    end = {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 12}}
    frames.append(_frame("message_delta", end))
    frames.append(_frame("message_stop", {"type": "message_stop"}))
    return Stream(tuple(frames))


# --- OpenAI Chat Completions --------------------------------------------------------------------


def _chat_message(blocks: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], str]:
    texts = "".join(b["text"] for b in blocks if b["type"] == "text")
    calls = [
        {"id": b["id"], "type": "function", "function": {"name": b["name"], "arguments": json.dumps(b["input"])}}
        for b in blocks
        if b["type"] == "tool_use"
    ]
    message: dict[str, Any] = {"role": "assistant", "content": texts or None}
    if calls:
        message["tool_calls"] = calls
    return message, "tool_calls" if calls else "stop"


def chat_json(*blocks: dict[str, Any], model: str = "gpt-4o-mini") -> Reply:
    message, finish = _chat_message(blocks)
    body = {
        "id": "chatcmpl-scripted", "object": "chat.completion", "created": 1760000000, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42},
    }  # fmt: skip
    return Reply(200, _ENCODE(body))


def chat_sse(*blocks: dict[str, Any], model: str = "gpt-4o-mini") -> Stream:
    message, finish = _chat_message(blocks)
    head = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 1760000000, "model": model}
    delta: dict[str, Any] = {"role": "assistant", "content": message["content"] or ""}
    if "tool_calls" in message:
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
    frames = [
        _frame(None, {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}),
        _frame(None, {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}),
        _frame(None, {**head, "choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}}),
        b"data: [DONE]\n\n",
    ]
    return Stream(tuple(frames))
