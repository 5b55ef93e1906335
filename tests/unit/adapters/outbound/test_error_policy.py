"""One upstream error policy for every provider kind: each status gives the same kind, client
status, retry-after, code and message whichever protocol the upstream speaks."""

from __future__ import annotations

import email.utils
import time

import msgspec
import pytest

from adapters.inbound.anthropic.errors import error_status as anthropic_client_status
from adapters.inbound.openai.errors import error_response as openai_error_response
from adapters.outbound.anthropic.errors import parse_error_body as anthropic_parse
from adapters.outbound.errors import ParseBody, is_success, retry_after, upstream_error
from adapters.outbound.openai.errors import parse_error_body as openai_parse
from domain.errors import RETRYABLE, ErrorKind, GatewayError

K = ErrorKind
# status: kind, client status (OpenAI frontdoor), client status (Anthropic frontdoor), retried
POLICY = {
    400: (K.INVALID_REQUEST, 400, 400, False),
    401: (K.AUTHENTICATION, 401, 401, False),
    403: (K.PERMISSION, 403, 403, False),
    404: (K.NOT_FOUND, 404, 404, False),
    408: (K.TIMEOUT, 504, 504, True),
    409: (K.INVALID_REQUEST, 409, 409, False),
    413: (K.REQUEST_TOO_LARGE, 413, 413, False),
    418: (K.INVALID_REQUEST, 418, 418, False),  # a 4xx no table names
    422: (K.INVALID_REQUEST, 422, 422, False),
    429: (K.RATE_LIMITED, 429, 429, True),
    500: (K.UPSTREAM, 502, 502, True),
    502: (K.UPSTREAM, 502, 502, True),
    503: (K.OVERLOADED, 503, 529, True),
    504: (K.TIMEOUT, 504, 504, True),
    529: (K.OVERLOADED, 503, 529, True),
    599: (K.UPSTREAM, 502, 502, True),  # a 5xx no table names
}


def openai_body(status: int) -> bytes:
    error = {
        "message": f"upstream says {status}",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "upstream_code",
    }
    return msgspec.json.encode({"error": error})


def anthropic_body(status: int) -> bytes:
    return msgspec.json.encode(
        {
            "type": "error",
            "error": {"type": "upstream_type", "message": f"upstream says {status}"},
            "request_id": "req_1",
        }
    )


def policy_of(parse: ParseBody):
    """The shared policy as a provider kind applies it: fed that kind's error-body parser."""

    def map_error(status: int, headers: dict[str, str], body: bytes, provider: str) -> GatewayError:
        return upstream_error(status, headers, body, provider, parse)

    return map_error


KINDS = {
    "openai": (policy_of(openai_parse), openai_body, "upstream_code", "messages"),
    "anthropic": (policy_of(anthropic_parse), anthropic_body, "upstream_type", None),
}
RETRY_HEADERS = [({"retry-after": "3"}, 3.0), ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5)]


@pytest.mark.parametrize("headers,seconds", RETRY_HEADERS, ids=["retry-after", "retry-after-ms"])
@pytest.mark.parametrize("status", list(POLICY))
@pytest.mark.parametrize("provider_kind", list(KINDS))
def test_every_status_maps_alike_for_every_provider_kind(provider_kind, status, headers, seconds):
    map_error, body, code, param = KINDS[provider_kind]
    kind, openai_status, anthropic_status, retried = POLICY[status]

    error = map_error(status, headers, body(status), "up")

    assert (error.kind, error.provider, error.kind in RETRYABLE) == (kind, "up", retried)
    assert openai_error_response(error).status_code == openai_status
    assert anthropic_client_status(error) == anthropic_status
    assert error.retry_after == (seconds if retried else None)
    if status in (401, 403):  # the upstream's text may quote the gateway's key
        assert error.message == (
            f"Provider 'up' refused the gateway's credentials (HTTP {status}); "
            "check the provider's API key in the gateway configuration."
        )
        assert (error.code, error.param) == (None, None)
    else:
        assert error.message == f"upstream says {status}"
        assert (error.code, error.param) == (code, param)


@pytest.mark.parametrize("status", list(POLICY))
@pytest.mark.parametrize("provider_kind", list(KINDS))
def test_a_body_without_a_message_names_the_provider_and_status(provider_kind, status):
    map_error = KINDS[provider_kind][0]

    for body in (b"", b"<html><body>Bad Gateway</body></html>"):
        error = map_error(status, {}, body, "up")

        assert error.kind is POLICY[status][0]
        if status not in (401, 403):
            assert error.message == f"Provider 'up' answered HTTP {status}."


@pytest.mark.parametrize(
    ("status", "headers", "message"),
    [
        (204, {}, "Provider 'up' answered HTTP 204 without a body."),
        (205, {}, "Provider 'up' answered HTTP 205 without a body."),
        (
            302,
            {"location": "https://login.example.test/sso?token=sk-abcdefghijklmnop"},
            "Provider 'up' answered HTTP 302, a redirect to https://login.example.test, which the "
            "gateway does not follow: check the provider's base_url.",
        ),
        (
            301,
            {"location": "/v1/chat/completions/"},
            "Provider 'up' answered HTTP 301, a redirect, which the gateway does not follow: "
            "check the provider's base_url.",
        ),
        (
            304,
            {},
            "Provider 'up' answered HTTP 304, a redirect, which the gateway does not follow: "
            "check the provider's base_url.",
        ),
    ],
)
@pytest.mark.parametrize("provider_kind", list(KINDS))
def test_answers_without_a_body_to_read_are_protocol_errors(provider_kind, status, headers, message):
    error = KINDS[provider_kind][0](status, headers, b"", "up")

    assert not is_success(status)
    assert (error.kind, error.message, error.kind in RETRYABLE) == (K.PROTOCOL, message, False)
    assert openai_error_response(error).status_code == 502


def test_success_statuses():
    assert [s for s in (200, 201, 203, 204, 205, 206, 299, 300, 302, 400) if is_success(s)] == [
        200,
        201,
        203,
        206,
        299,
    ]


def test_retry_after_forms():
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)

    assert retry_after({"retry-after": "0"}) == 0.0
    assert retry_after({"retry-after": "2.5"}) == 2.5
    assert 28 <= retry_after({"retry-after": soon}) <= 30  # an HTTP date
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({"retry-after": "-1"}) is None
    assert retry_after({"retry-after-ms": "bogus", "retry-after": "4"}) == 4.0
    assert retry_after({}) is None
