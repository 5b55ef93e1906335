"""Responses traffic relayed to an upstream that speaks the Responses API: what is sent, and
the stream relayed under the gateway's id, ended properly when the gateway itself cuts it."""

from __future__ import annotations

import msgspec

from adapters.inbound.openai_responses.reasoning import PREFIX
from adapters.inbound.openai_responses.relay import native_request, relayed_frames
from domain.ir import MessageDelta, MessageStart, MessageStop, Ping, StreamError
from tests.unit.adapters.inbound.openai_responses.support import aiter_of, call_of, frames, record_for


def raw(value: object) -> msgspec.Raw:
    return msgspec.Raw(msgspec.json.encode(value))


def test_the_native_request_carries_the_history_without_minted_ids_or_foreign_reasoning() -> None:
    call = call_of(input="next", previous_response_id="resp_prev", include=["reasoning.encrypted_content"])
    call.history.extend([
        raw({"type": "message", "role": "user", "content": "hi"}),
        raw({"type": "message", "id": "msg_minted", "role": "assistant", "content": [{"type": "output_text", "text": "yo"}]}),
        raw({"type": "reasoning", "id": "rs_openai", "summary": [], "encrypted_content": "gAAAA-openai-state"}),
        raw({"type": "reasoning", "id": "rs_other", "summary": [], "encrypted_content": PREFIX + "e30="}),
        raw({"type": "function_call", "id": "fc_minted", "call_id": "c1", "name": "f", "arguments": "{}"}),
    ])  # fmt: skip
    native = native_request(call)
    fields = {name: msgspec.json.decode(value) for name, value in native.fields.items()}
    assert native.protocol == "openai_responses"
    assert "previous_response_id" not in fields and fields["include"] == ["reasoning.encrypted_content"]
    items = fields["input"]
    assert [item["type"] for item in items] == ["message", "message", "reasoning", "function_call", "message"]
    assert [item.get("id") for item in items] == [None, None, "rs_openai", None, None]
    assert items[-1]["content"][0]["text"] == "next"


def event(kind: str, seq: int, **fields: object) -> bytes:
    return msgspec.json.encode({"type": kind, "sequence_number": seq, **fields})


async def test_a_cut_off_relayed_stream_ends_with_error_and_response_failed() -> None:
    head = {"id": "resp_up", "object": "response", "status": "in_progress", "model": "gpt-5", "output": []}
    upstream = [
        MessageStart(id="resp_up", model="gpt-5", native=event("response.created", 0, response=head)),
        Ping(native=event("response.output_text.delta", 1, item_id="msg_1", output_index=0, content_index=0, delta="Hi")),
        StreamError(kind="timeout", message="Provider 'p' sent nothing for 60 s."),
    ]  # fmt: skip
    call = call_of(stream=True)
    raw_frames = b"".join([f async for f in relayed_frames(aiter_of(upstream), call, record_for("openai"), None)])
    got = frames(raw_frames)
    assert [name for name, _ in got] == ["response.created", "response.output_text.delta", "error", "response.failed"]
    assert [data["sequence_number"] for _, data in got] == [0, 1, 2, 3]
    failed = got[-1][1]["response"]
    assert failed["id"] == call.response_id == got[0][1]["response"]["id"]
    assert failed["status"] == "failed" and "sent nothing" in failed["error"]["message"]
    assert b"resp_up" not in raw_frames


async def test_the_final_event_is_stored_before_it_is_sent() -> None:
    done = {"id": "resp_up", "status": "completed", "model": "gpt-5", "output": [], "usage": None}
    upstream = [
        MessageStart(id="resp_up", model="gpt-5", native=event("response.created", 0, response={**done, "status": "in_progress"})),
        MessageDelta(native=event("response.completed", 1, response=done)),
        MessageStop(),
    ]  # fmt: skip
    call = call_of(stream=True, previous_response_id="resp_before")
    stored: list[bytes] = []
    sent: list[bytes] = []

    async def keep(body: bytes) -> None:
        assert len(sent) == 1  # the final event is not out yet
        stored.append(body)

    async for frame in relayed_frames(aiter_of(upstream), call, record_for("openai", alias="my-alias"), keep):
        sent.append(frame)
    (final,) = [msgspec.json.decode(body) for body in stored]
    assert final["id"] == call.response_id and final["previous_response_id"] == "resp_before"
    assert final["model"] == "my-alias"
    assert frames(sent[-1])[0][1]["response"] == final
