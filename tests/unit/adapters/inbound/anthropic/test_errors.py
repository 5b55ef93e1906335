"""GatewayError -> the status and body Anthropic's SDKs expect."""

from __future__ import annotations

import anthropic
import msgspec
import pytest

from adapters.inbound.anthropic.errors import error_body, error_response
from adapters.outbound.anthropic.errors import parse_error_body
from adapters.outbound.errors import upstream_error
from domain.errors import ErrorKind, GatewayError
from tests.conftest import fixture_bytes
from tests.unit.adapters.inbound.anthropic.support import sdk_client


def map_error(status: int, headers: dict[str, str], body: bytes, provider: str) -> GatewayError:
    """The shared error policy as the provider applies it, with this kind's body parser."""
    return upstream_error(status, headers, body, provider, parse_error_body)


def body(error_type: str, message: str) -> bytes:
    return msgspec.json.encode({"type": "error", "error": {"type": error_type, "message": message},
                                "request_id": "req_1"})


CLIENT_CASES = [
    # kind, upstream status, client status, type
    (ErrorKind.INVALID_REQUEST, None, 400, "invalid_request_error", anthropic.BadRequestError),
    (ErrorKind.AUTHENTICATION, 401, 401, "authentication_error", anthropic.AuthenticationError),
    (ErrorKind.PERMISSION, 403, 403, "permission_error", anthropic.PermissionDeniedError),
    (ErrorKind.NOT_FOUND, None, 404, "not_found_error", anthropic.NotFoundError),
    (ErrorKind.REQUEST_TOO_LARGE, None, 413, "request_too_large", anthropic.APIStatusError),
    (ErrorKind.RATE_LIMITED, 429, 429, "rate_limit_error", anthropic.RateLimitError),
    (ErrorKind.UPSTREAM, None, 502, "api_error", anthropic.InternalServerError),
    (ErrorKind.UNAVAILABLE, None, 502, "api_error", anthropic.InternalServerError),
    (ErrorKind.INTERNAL, None, 500, "api_error", anthropic.InternalServerError),
    (ErrorKind.CONFIGURATION, None, 500, "api_error", anthropic.InternalServerError),
    (ErrorKind.TIMEOUT, None, 504, "timeout_error", anthropic.InternalServerError),
    (ErrorKind.OVERLOADED, None, 529, "overloaded_error", anthropic.OverloadedError),
]


@pytest.mark.parametrize(("kind", "upstream", "status", "error_type", "sdk_error"), CLIENT_CASES,
                         ids=[case[0].value for case in CLIENT_CASES])
def test_client_error_status_body_and_sdk_exception(kind, upstream, status, error_type, sdk_error):
    error = GatewayError(kind, "something went wrong", status=upstream)
    response = error_response(error)
    assert response.status_code == status
    assert response.content == error_body(error)
    assert msgspec.json.decode(response.content) == {
        "type": "error", "error": {"type": error_type, "message": "something went wrong"}}
    client = sdk_client(status, response.content, "application/json")
    with pytest.raises(sdk_error) as caught:
        client.messages.create(model="x", max_tokens=1, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == status
    assert caught.value.body["error"]["type"] == error_type


def test_retry_after_header_and_upstream_specific_type_survive():
    upstream = map_error(429, {"retry-after": "1.5"}, fixture_bytes("anthropic/error_429.json"), "claude")
    response = error_response(upstream)
    assert (response.status_code, response.headers["retry-after"]) == (429, "2")
    billing = map_error(402, {}, body("billing_error", "Your credit balance is too low"), "claude")
    assert msgspec.json.decode(error_body(billing))["error"]["type"] == "billing_error"
    assert error_response(billing).status_code == 402


def test_an_openai_code_does_not_leak_into_the_anthropic_type():
    error = GatewayError(ErrorKind.NOT_FOUND, "no route", code="model_not_found")
    assert msgspec.json.decode(error_body(error))["error"]["type"] == "not_found_error"
