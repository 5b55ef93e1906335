"""OpenAI (and OpenAI-compatible) error bodies, read for the upstream error policy (whose
status table is tested in tests/unit/adapters/outbound/test_error_policy.py)."""

from __future__ import annotations

import pytest

from adapters.outbound.errors import upstream_error
from adapters.outbound.openai.errors import parse_error_body
from domain.errors import ErrorKind, GatewayError
from tests.conftest import fixture_bytes

SECRET_401 = (
    b'{"error":{"message":"Incorrect API key provided: sk-proj-****abcd. You can find your API key at '
    b'https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,'
    b'"code":"invalid_api_key"}}'
)


def map_error(status: int, headers: dict[str, str], body: bytes, provider: str) -> GatewayError:
    """The shared error policy as the provider applies it, with this kind's body parser."""
    return upstream_error(status, headers, body, provider, parse_error_body)


def test_upstream_4xx_keeps_message_param_and_code() -> None:
    error = map_error(400, {}, fixture_bytes("openai/error_400_unknown_parameter.json"), "openai")

    assert error.message == "Unrecognized request argument supplied: top_k"
    assert (error.param, error.code, error.client_status) == ("top_k", None, 400)


def test_429_reads_retry_after_seconds() -> None:
    error = map_error(429, {"retry-after": "7"}, fixture_bytes("openai/error_429.json"), "openai")

    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after == 7.0
    assert error.code == "rate_limit_exceeded"
    assert error.message.startswith("Rate limit reached for requests")


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_never_echo_the_upstream_message(status: int) -> None:
    error = map_error(status, {}, SECRET_401, "openai-prod")

    assert "sk-" not in error.message and "Incorrect" not in error.message
    assert "openai-prod" in error.message and str(status) in error.message
    assert error.code is None and error.param is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>502 Bad Gateway</html>", "Provider 'vllm' answered HTTP 500."),
        (b"", "Provider 'vllm' answered HTTP 500."),
        (b'{"error": "model overloaded"}', "model overloaded"),
        (b'{"message": "plain message"}', "plain message"),
        (b'{"detail": "fastapi detail"}', "fastapi detail"),
        (b'{"detail": [{"loc": ["body"]}]}', "Provider 'vllm' answered HTTP 500."),
        (
            b'{"object":"error","message":"vllm says no","type":"BadRequestError","param":null,"code":400}',
            "vllm says no",
        ),
    ],
)
def test_non_openai_error_bodies_still_give_a_message(body: bytes, message: str) -> None:
    assert map_error(500, {}, body, "vllm").message == message
