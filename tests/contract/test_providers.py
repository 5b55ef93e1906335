"""The ``ChatProvider`` port, the same for every provider kind in ``PROVIDER_KINDS``.

Each kind runs over an in-memory HTTP port answering its recorded fixtures
(``tests/contract/providers/<kind>.py``), as ``test_http_clients.py`` runs every HTTP client
against one fake upstream. What every kind must do:

* ``complete``: one upstream request, an IR answer (and the upstream body as ``native`` for a
  client of the kind's own protocol, relayed untouched);
* ``stream``: nothing sent until the first event is asked for; events in the grammar of
  ``domain/ir/events.py``; for a client of its own protocol, every upstream frame carried as
  some event's ``native``; an error event after the start ends the stream as a ``StreamError``;
  closing the stream closes the upstream request;
* errors: an answer that is not a success raised as the one upstream error policy says, before
  any event for a stream; transport failures passed on; every message, and every in-stream
  error frame, scrubbed of the configured key;
* a key that names an unset variable: ``CONFIGURATION`` naming it, and no request sent;
* ``count_tokens``: a local estimate that sends nothing (``counts_locally``), or the count of
  the kind's counting endpoint;
* ``embed``: the client's body relayed (model replaced) and the answer kept as it came, or, for a
  kind whose API has no embeddings, ``INVALID_REQUEST`` saying so and nothing sent.
"""

from __future__ import annotations

import importlib
from typing import Any

import msgspec
import pytest

from adapters.outbound import PROVIDER_KINDS
from adapters.outbound.errors import kind_of_status
from adapters.outbound.scrub import MASK, Scrubber
from domain.errors import ErrorKind, GatewayError
from domain.ir import (
    ChatRequest,
    EmbeddingRequest,
    Message,
    MessageStart,
    NativeRequest,
    StreamError,
    TextBlock,
)
from domain.ports import ChatProvider
from tests.conftest import fixture_bytes, sse_lines
from tests.contract.providers import ProviderCase
from tests.fakes.http_port import Answer, RecordedHttp
from tests.streams import accumulate, aiter_of, assert_grammar, collect

KEY = "sk-contract-0123456789abcdefghij"  # the provider's configured key
KINDS = sorted(PROVIDER_KINDS)


def case_of(kind: str) -> ProviderCase | None:
    try:
        module = importlib.import_module(f"tests.contract.providers.{kind}")
    except ModuleNotFoundError:
        return None
    return module.CASE


CASES = {kind: case for kind in KINDS if (case := case_of(kind)) is not None}


def test_every_provider_kind_supplies_its_recorded_answers() -> None:
    assert [kind for kind in KINDS if kind not in CASES] == []


def provider(kind: str, answer: Answer, **settings: Any) -> tuple[ChatProvider, RecordedHttp]:
    http = RecordedHttp(answer)
    registered = PROVIDER_KINDS[kind]
    fields: dict[str, Any] = {"name": "up", "base_url": registered.default_base_url, "api_key": KEY, **settings}
    return registered.create(registered.settings(**fields), http, Scrubber([KEY])), http


def request(case: ProviderCase, kind_protocol: str | None = None, *, stream: bool = False) -> ChatRequest:
    """A translated request (from another protocol's client), or with ``kind_protocol`` one
    that came from a client of the kind's own protocol."""
    native: Any = msgspec.UNSET
    if kind_protocol is not None:
        body = {**case.client_body, **({"stream": True} if stream else {})}
        fields = msgspec.json.decode(msgspec.json.encode(body), type=dict[str, msgspec.Raw])
        native = NativeRequest(protocol=kind_protocol, fields=fields)
    return ChatRequest(
        model="client-model",
        messages=[Message(role="user", content=[TextBlock(text="Hello!")])],
        max_tokens=64,
        stream=stream,
        include_usage=True if stream else msgspec.UNSET,
        native=native,
    )


def answer_of(name: str) -> Answer:
    return Answer(lines=sse_lines(name)) if name.endswith(".sse") else Answer(body=fixture_bytes(name))


parametrize_kinds = pytest.mark.parametrize("kind", sorted(CASES))


# --- complete ------------------------------------------------------------------------------------


@parametrize_kinds
async def test_complete_answers_in_ir_with_one_upstream_request(kind: str) -> None:
    case = CASES[kind]
    chat, http = provider(kind, answer_of(case.completion))

    response = await chat.complete(request(case), "upstream-model")

    assert len(http.sent) == 1
    assert msgspec.json.decode(http.sent[0][2])["model"] == "upstream-model"
    assert [b.text for b in response.content if isinstance(b, TextBlock)] == [case.text]
    assert response.id and response.model


@parametrize_kinds
async def test_complete_keeps_the_upstream_body_for_a_client_of_its_protocol(kind: str) -> None:
    case = CASES[kind]
    chat, _ = provider(kind, answer_of(case.completion))

    response = await chat.complete(request(case, chat.protocol), "upstream-model")

    assert response.native is not msgspec.UNSET
    assert (response.native.protocol, response.native.body) == (chat.protocol, fixture_bytes(case.completion))


# --- stream --------------------------------------------------------------------------------------


@parametrize_kinds
async def test_stream_sends_nothing_before_its_first_event_and_follows_the_grammar(kind: str) -> None:
    case = CASES[kind]
    chat, http = provider(kind, answer_of(case.stream))

    events = chat.stream(request(case, stream=True), "upstream-model")
    assert http.sent == []
    collected = await collect(events)

    assert len(http.sent) == 1 and http.open == 0
    assert_grammar(collected)
    response = await accumulate(aiter_of(collected))
    assert [b.text for b in response.content if isinstance(b, TextBlock)] == [case.text]


@parametrize_kinds
async def test_stream_carries_every_upstream_frame_for_a_client_of_its_protocol(kind: str) -> None:
    case = CASES[kind]
    chat, _ = provider(kind, answer_of(case.stream))

    events = await collect(chat.stream(request(case, chat.protocol, stream=True), "upstream-model"))

    assert_grammar(events)
    frames = [line.removeprefix(b"data: ") for line in sse_lines(case.stream) if line.startswith(b"data: ")]
    carried = [event.native for event in events if event.native is not None]
    assert carried == [frame for frame in frames if frame != b"[DONE]"]


@parametrize_kinds
async def test_closing_the_stream_after_its_first_event_closes_the_upstream(kind: str) -> None:
    case = CASES[kind]
    chat, http = provider(kind, answer_of(case.stream))
    events = chat.stream(request(case, stream=True), "upstream-model")

    first = await anext(events)
    assert isinstance(first, MessageStart) and http.open == 1
    await events.aclose()  # type: ignore[attr-defined]

    assert (http.open, http.closed) == (0, 1)


@parametrize_kinds
async def test_an_error_event_after_the_start_ends_the_stream_scrubbed(kind: str) -> None:
    case = CASES[kind]
    leaked = f"{case.stream_error_message} (key {KEY})"
    lines = [line.replace(case.stream_error_message.encode(), leaked.encode()) for line in sse_lines(case.stream_error)]
    chat, http = provider(kind, Answer(lines=lines))

    events = await collect(chat.stream(request(case, chat.protocol, stream=True), "upstream-model"))

    assert_grammar(events)
    error = events[-1]
    assert isinstance(error, StreamError) and http.open == 0
    assert error.message == f"{case.stream_error_message} (key {MASK})"
    assert error.native is not None and KEY.encode() not in error.native and MASK.encode() in error.native


# --- errors --------------------------------------------------------------------------------------


def error_answer(case: ProviderCase) -> Answer:
    body = fixture_bytes(case.error).replace(case.error_message.encode(), f"{case.error_message} {KEY}".encode())
    return Answer(status=case.error_status, body=body)


@parametrize_kinds
async def test_an_error_answer_is_the_policy_s_error_scrubbed(kind: str) -> None:
    case = CASES[kind]
    chat, _ = provider(kind, error_answer(case))

    with pytest.raises(GatewayError) as raised:
        await chat.complete(request(case), "upstream-model")

    error = raised.value
    assert (error.kind, error.provider) == (kind_of_status(case.error_status), "up")
    assert error.message == f"{case.error_message} {MASK}"


@parametrize_kinds
async def test_an_error_answer_to_a_stream_is_raised_before_any_event(kind: str) -> None:
    case = CASES[kind]
    chat, http = provider(kind, error_answer(case))

    with pytest.raises(GatewayError) as raised:
        await anext(chat.stream(request(case, stream=True), "upstream-model"))

    assert raised.value.kind is kind_of_status(case.error_status)
    assert raised.value.message == f"{case.error_message} {MASK}"
    assert (http.open, http.closed) == (0, 1)


@parametrize_kinds
@pytest.mark.parametrize("call", ["complete", "stream", "count_tokens"])
async def test_a_transport_failure_is_passed_on_scrubbed(kind: str, call: str) -> None:
    case = CASES[kind]
    failure = GatewayError(ErrorKind.UNAVAILABLE, f"Provider 'up' is unreachable: echoed {KEY}", provider="up")
    chat, http = provider(kind, Answer(fail=failure))
    if call == "count_tokens" and chat.counts_locally:
        assert await chat.count_tokens(request(case), "m") > 0 and http.sent == []
        return

    with pytest.raises(GatewayError) as raised:
        if call == "stream":
            await anext(chat.stream(request(case, stream=True), "upstream-model"))
        else:
            await getattr(chat, call)(request(case), "upstream-model")

    assert raised.value.kind is ErrorKind.UNAVAILABLE
    assert KEY not in raised.value.message and MASK in raised.value.message


@parametrize_kinds
@pytest.mark.parametrize("call", ["complete", "stream", "count_tokens"])
async def test_a_key_naming_an_unset_variable_sends_nothing(kind: str, call: str) -> None:
    case = CASES[kind]
    chat, http = provider(kind, answer_of(case.completion), api_key=None, missing_key_var="UP_API_KEY")
    if call == "count_tokens" and chat.counts_locally:
        assert await chat.count_tokens(request(case), "m") > 0 and http.sent == []
        return

    with pytest.raises(GatewayError) as raised:
        if call == "stream":
            await anext(chat.stream(request(case, stream=True), "upstream-model"))
        else:
            await getattr(chat, call)(request(case), "upstream-model")

    assert raised.value.kind is ErrorKind.CONFIGURATION and "UP_API_KEY" in raised.value.message
    assert http.sent == []


# --- count_tokens and the port's attributes -------------------------------------------------------


@parametrize_kinds
async def test_count_tokens_is_a_local_estimate_or_the_upstream_count(kind: str) -> None:
    case = CASES[kind]
    if case.count is None:
        chat, http = provider(kind, Answer())
        assert chat.counts_locally is True
        assert await chat.count_tokens(request(case), "upstream-model") > 0
        assert http.sent == []
        return
    fixture, count = case.count
    chat, http = provider(kind, answer_of(fixture))

    assert chat.counts_locally is False
    assert await chat.count_tokens(request(case), "upstream-model") == count
    assert len(http.sent) == 1


@parametrize_kinds
async def test_embed_relays_or_refuses_without_sending(kind: str) -> None:
    case = CASES[kind]
    chat, http = provider(kind, Answer(body=fixture_bytes(case.embeddings or case.completion)))
    body = {"model": "client-model", "input": ["a", "b"], "x_unmodelled": {"kept": True}}
    fields = msgspec.json.decode(msgspec.json.encode(body), type=dict[str, msgspec.Raw])
    embed = EmbeddingRequest(model="client-model", fields=fields)
    if case.embeddings is None:
        with pytest.raises(GatewayError) as caught:
            await chat.embed(embed, "upstream-model")
        assert caught.value.kind is ErrorKind.INVALID_REQUEST and "no embeddings" in caught.value.message
        assert http.sent == []
        return
    response = await chat.embed(embed, "upstream-model")
    assert len(http.sent) == 1
    assert msgspec.json.decode(http.sent[0][2]) == {**body, "model": "upstream-model"}
    assert response.body == fixture_bytes(case.embeddings)
    assert isinstance(response.usage.input_tokens, int)


@parametrize_kinds
def test_the_provider_names_itself_and_its_protocol(kind: str) -> None:
    chat, _ = provider(kind, Answer())

    assert chat.name == "up"
    assert isinstance(chat.protocol, str) and chat.protocol
    assert isinstance(chat.counts_locally, bool)
