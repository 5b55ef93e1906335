"""GatewayError -> the status and body OpenAI's SDKs expect."""

from __future__ import annotations

import msgspec
import pytest
from openai.types.shared import ErrorObject

from adapters.inbound.openai.errors import error_body, error_response, stream_error_frame
from adapters.outbound.errors import upstream_error
from adapters.outbound.openai.errors import parse_error_body
from domain.errors import ErrorKind, GatewayError


def map_error(status: int, headers: dict[str, str], body: bytes, provider: str) -> GatewayError:
    """The shared error policy as the provider applies it, with this kind's body parser."""
    return upstream_error(status, headers, body, provider, parse_error_body)


@pytest.mark.parametrize(
    ("kind", "type_", "status"),
    [
        (ErrorKind.INVALID_REQUEST, "invalid_request_error", 400),
        (ErrorKind.AUTHENTICATION, "authentication_error", 401),
        (ErrorKind.PERMISSION, "permission_error", 403),
        (ErrorKind.NOT_FOUND, "invalid_request_error", 404),
        (ErrorKind.REQUEST_TOO_LARGE, "invalid_request_error", 413),
        (ErrorKind.RATE_LIMITED, "rate_limit_error", 429),
        (ErrorKind.OVERLOADED, "service_unavailable_error", 503),
        (ErrorKind.TIMEOUT, "timeout_error", 504),
        (ErrorKind.UNAVAILABLE, "server_error", 502),
        (ErrorKind.UPSTREAM, "server_error", 502),
        (ErrorKind.PROTOCOL, "server_error", 502),
        (ErrorKind.CONFIGURATION, "server_error", 500),
        (ErrorKind.INTERNAL, "server_error", 500),
    ],
)
def test_error_response_status_and_type_by_kind(kind: ErrorKind, type_: str, status: int) -> None:
    response = error_response(GatewayError(kind, "boom"))

    assert response.status_code == status
    assert response.media_type == "application/json"
    assert msgspec.json.decode(response.content) == {
        "error": {"message": "boom", "type": type_, "param": None, "code": None}
    }


def test_error_body_is_what_the_sdk_reads_as_an_error_object() -> None:
    error = GatewayError(ErrorKind.NOT_FOUND, "no such model", param="model", code="model_not_found")
    body = error_body(error)
    sdk_error = ErrorObject.model_validate(msgspec.json.decode(body)["error"])

    assert (sdk_error.message, sdk_error.type, sdk_error.param, sdk_error.code) == (
        "no such model",
        "invalid_request_error",
        "model",
        "model_not_found",
    )


def test_upstream_4xx_status_is_kept_and_overload_from_529_answers_503() -> None:
    assert error_response(map_error(422, {}, b"", "p")).status_code == 422
    assert error_response(map_error(529, {}, b"", "p")).status_code == 503


def test_retry_after_header_is_whole_seconds_rounded_up() -> None:
    response = error_response(GatewayError(ErrorKind.RATE_LIMITED, "slow", retry_after=1.2))
    assert response.headers["retry-after"] == "2"
    assert "retry-after" not in (error_response(GatewayError(ErrorKind.RATE_LIMITED, "slow")).headers or {})


def test_configuration_error_names_the_variable() -> None:
    message = "Provider 'openai' has no API key: set OPENAI_API_KEY (environment or .env)."
    response = error_response(GatewayError(ErrorKind.CONFIGURATION, message))

    assert response.status_code == 500
    assert msgspec.json.decode(response.content)["error"]["message"] == message


def test_stream_error_frame_of_an_unknown_kind_is_a_server_error() -> None:
    frame = stream_error_frame("something_new", "oops")

    assert frame == b'data: {"error":{"message":"oops","type":"server_error","param":null,"code":null}}\n\n'
