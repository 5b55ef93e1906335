"""Anthropic error bodies, read for the upstream error policy (whose status table is tested in
tests/unit/adapters/outbound/test_error_policy.py)."""

from __future__ import annotations

import msgspec
import pytest

from adapters.outbound.anthropic.errors import parse_error_body
from adapters.outbound.errors import upstream_error
from domain.errors import RETRYABLE, ErrorKind, GatewayError
from tests.conftest import fixture_bytes


def map_error(status: int, headers: dict[str, str], body: bytes, provider: str) -> GatewayError:
    """The shared error policy as the provider applies it, with this kind's body parser."""
    return upstream_error(status, headers, body, provider, parse_error_body)


def body(error_type: str, message: str) -> bytes:
    return msgspec.json.encode({"type": "error", "error": {"type": error_type, "message": message},
                                "request_id": "req_1"})


UPSTREAM_CASES = [
    # status, body, kind, status kept, message
    (400, fixture_bytes("anthropic/error_400_missing_max_tokens.json"), ErrorKind.INVALID_REQUEST, 400,
     "max_tokens: Field required"),
    (401, body("authentication_error", "invalid x-api-key sk-ant-...abcd"), ErrorKind.AUTHENTICATION, 401,
     "Provider 'claude' refused the gateway's credentials (HTTP 401); "
     "check the provider's API key in the gateway configuration."),
    (403, body("permission_error", "key sk-ant-...abcd lacks access"), ErrorKind.PERMISSION, 403,
     "Provider 'claude' refused the gateway's credentials (HTTP 403); "
     "check the provider's API key in the gateway configuration."),
    (404, body("not_found_error", "model: claude-nope"), ErrorKind.NOT_FOUND, 404, "model: claude-nope"),
    (413, body("request_too_large", "Request exceeds the maximum size"), ErrorKind.REQUEST_TOO_LARGE, 413,
     "Request exceeds the maximum size"),
    (429, fixture_bytes("anthropic/error_429.json"), ErrorKind.RATE_LIMITED, 429,
     "Number of request tokens has exceeded your per-minute rate limit "
     "(scripted ERR429 from fake upstream)."),
    (402, body("billing_error", "Your credit balance is too low"), ErrorKind.INVALID_REQUEST, 402,
     "Your credit balance is too low"),
    (500, body("api_error", "Internal server error"), ErrorKind.UPSTREAM, None, "Internal server error"),
    (503, b"<html>Service Unavailable</html>", ErrorKind.OVERLOADED, None,
     "Provider 'claude' answered HTTP 503."),
    (504, b"", ErrorKind.TIMEOUT, None, "Provider 'claude' answered HTTP 504."),
    (529, fixture_bytes("anthropic/error_529_overloaded.json"), ErrorKind.OVERLOADED, None, "Overloaded"),
]


@pytest.mark.parametrize(("status", "payload", "kind", "kept", "message"), UPSTREAM_CASES,
                         ids=[str(case[0]) for case in UPSTREAM_CASES])
def test_upstream_error_mapping(status, payload, kind, kept, message):
    error = map_error(status, {}, payload, "claude")
    assert (error.kind, error.status, error.message, error.provider) == (kind, kept, message, "claude")


def test_upstream_429_retry_after_is_kept_and_error_type_travels_as_code():
    error = map_error(429, {"retry-after": "17"}, fixture_bytes("anthropic/error_429.json"), "claude")
    assert (error.retry_after, error.code, error.kind in RETRYABLE) == (17.0, "rate_limit_error", True)
