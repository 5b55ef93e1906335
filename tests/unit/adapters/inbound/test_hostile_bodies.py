"""Bodies no client should send get a clear 400 from every decoder, never an exception of
the JSON library (UnicodeDecodeError, RecursionError) or its misleading wording."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.inbound.anthropic.decode import count_tokens_to_ir
from adapters.inbound.anthropic.decode import to_ir as anthropic_to_ir
from adapters.inbound.json_body import check_body
from adapters.inbound.openai.decode import to_ir as openai_to_ir
from domain.errors import ErrorKind, GatewayError
from domain.ir import ChatRequest
from domain.ir.json_depth import MAX_DEPTH

Decoder = Callable[[bytes], ChatRequest]
DECODERS: dict[str, tuple[Decoder, bytes]] = {
    "openai": (openai_to_ir, b'{"model":"gpt-4o","messages":[{"role":"user","content":%s}]%s}'),
    "anthropic": (
        lambda body: anthropic_to_ir(body, {}),
        b'{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":%s}]%s}',
    ),
    "count_tokens": (
        lambda body: count_tokens_to_ir(body, {}),
        b'{"model":"claude-x","messages":[{"role":"user","content":%s}]%s}',
    ),
}


def refused(route: str, content: bytes, extra: bytes = b"") -> str:
    decode, template = DECODERS[route]
    with pytest.raises(GatewayError) as caught:
        decode(template % (content, extra))
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert caught.value.client_status == 400
    return caught.value.message


@pytest.mark.parametrize("route", DECODERS)
def test_invalid_utf8_inside_a_string_is_refused_naming_the_byte(route: str) -> None:
    message = refused(route, b'"h\xff\xfei"')
    assert "not valid UTF-8" in message
    assert "byte" in message


@pytest.mark.parametrize("route", DECODERS)
def test_invalid_utf8_where_the_decoder_keeps_raw_json_is_refused(route: str) -> None:
    # An unknown field is never decoded as text: without the check it would go upstream as is.
    assert "not valid UTF-8" in refused(route, b'"hi"', b',"x_extra":"\xc3\x28"')


@pytest.mark.parametrize("route", DECODERS)
def test_nesting_a_thousand_deep_is_refused_naming_the_limit(route: str) -> None:
    message = refused(route, b'"hi"', b',"x":' + b"[" * 1000 + b"]" * 1000)
    assert f"more than {MAX_DEPTH} levels" in message


@pytest.mark.parametrize("route", DECODERS)
def test_nesting_just_past_the_limit_is_refused_and_at_the_limit_is_not(route: str) -> None:
    # The body's object is level 1: "x" adds MAX_DEPTH - 1 more levels, then one too many.
    decode, template = DECODERS[route]
    decode(template % (b'"hi"', b',"x":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1)))
    refused(route, b'"hi"', b',"x":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)


@pytest.mark.parametrize("route", DECODERS)
def test_a_lone_surrogate_escape_is_named_as_such_not_as_truncated_input(route: str) -> None:
    message = refused(route, b'"h\\ud800i"')
    assert "lone UTF-16 surrogate" in message
    assert "truncated" not in message


@pytest.mark.parametrize("route", DECODERS)
def test_an_empty_body_is_called_empty(route: str) -> None:
    decode, _ = DECODERS[route]
    with pytest.raises(GatewayError) as caught:
        decode(b"")
    assert "the body is empty" in caught.value.message


@pytest.mark.parametrize("route", DECODERS)
def test_a_body_cut_short_says_the_json_ends_too_soon(route: str) -> None:
    decode, template = DECODERS[route]
    with pytest.raises(GatewayError) as caught:
        decode((template % (b'"hi"', b""))[:-5])
    assert "ends before it is complete" in caught.value.message


def test_valid_utf8_of_every_width_passes() -> None:
    check_body('{"t":"é € 😀 中文"}'.encode())
    check_body(('{"t":"' + "é😀" * 400_000 + '"}').encode())  # checked a chunk at a time


def test_invalid_utf8_past_the_first_chunk_is_found() -> None:
    body = b'{"t":"' + "é".encode() * 600_000 + b"\xed\xa0\x80" + b'"}'  # an encoded surrogate
    with pytest.raises(GatewayError) as caught:
        check_body(body)
    assert f"byte {6 + 1_200_000}" in caught.value.message
