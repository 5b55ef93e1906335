"""The scrubber masks configured secrets, their long prefixes and well-known key shapes in any
upstream text, and leaves ordinary text alone."""

from __future__ import annotations

import msgspec
import pytest

from adapters.outbound.scrub import MASK, Scrubber, header_secrets
from domain.errors import ErrorKind, GatewayError
from infrastructure.config.build import secrets
from infrastructure.config.loader import parse_config

OPENAI_KEY = "sk-proj-abc1def2ghi3jkl4mno5pqr6stu7vwx8yz90wxyz"
VLLM_KEY = "tok_live_0123456789abcdefXYZ"
SCRUB = Scrubber([OPENAI_KEY, VLLM_KEY, "medium-pw", "EMPTY", None, ""])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {OPENAI_KEY} refused", f"key {MASK} refused"),
        (
            f"Incorrect API key provided: {OPENAI_KEY[:12]}********wxyz.",
            f"Incorrect API key provided: {MASK}.",
        ),
        (f"key={VLLM_KEY}&x=1", f"key={MASK}&x=1"),
        (f"glued{VLLM_KEY}glued", f"glued{MASK}"),  # inside a word, and the token it starts
        (f"prefix {VLLM_KEY[:12]}... seen", f"prefix {MASK}... seen"),
        (f"shorter {VLLM_KEY[:11]} kept", f"shorter {VLLM_KEY[:11]} kept"),
        ("password medium-pw is wrong", f"password {MASK} is wrong"),  # 8-11 characters: exact match
        ("EMPTY is a placeholder, not a secret", "EMPTY is a placeholder, not a secret"),
        ("unknown key sk-ant-api03-AbCdEfGhIjKlMnOp_QrStUv-wxyz", f"unknown key {MASK}"),
        ("unknown key sk-proj-zzzz****yyyy0000", f"unknown key {MASK}"),
        ("header authorization: Bearer abc.def-ghi_jkl", f"header authorization: Bearer {MASK}"),
        ("BEARER xyz, then more", f"BEARER {MASK}, then more"),
        ("groq gsk_0123456789abcdefghij", f"groq {MASK}"),
        ("xai xai-0123456789abcdefghij", f"xai {MASK}"),
        ("google AIzaSyA-0123456789abcdefghijklmnopqrstu", f"google {MASK}"),
        ("risk-free task-management sk-1 disk-usage", "risk-free task-management sk-1 disk-usage"),
        ("model 'gpt-4o' not found", "model 'gpt-4o' not found"),
    ],
)
def test_text(text: str, expected: str) -> None:
    assert SCRUB.text(text) == expected


def test_json_strings_are_scrubbed_after_their_escapes_are_resolved() -> None:
    escaped = OPENAI_KEY.replace("s", "\\u0073", 1)
    frame = (
        '{"type":"error","error":{"type":"api_error","message":"bad key ' + escaped + '"},"n":1}'
    ).encode()

    scrubbed = msgspec.json.decode(SCRUB.json(frame))

    assert scrubbed == {"type": "error", "error": {"type": "api_error", "message": f"bad key {MASK}"}, "n": 1}


def test_non_json_bytes_are_scrubbed_as_text() -> None:
    assert SCRUB.json(f"oops {OPENAI_KEY}\xff".encode("latin-1")) == f"oops {MASK}\ufffd".encode()


def test_stream_error_scrubs_message_and_native_frame() -> None:
    event = SCRUB.stream_error("upstream", f"no {OPENAI_KEY}", f'{{"error":"no {OPENAI_KEY}"}}'.encode())

    assert (event.kind, event.message, event.native) == (
        "upstream",
        f"no {MASK}",
        f'{{"error":"no {MASK}"}}'.encode(),
    )
    assert SCRUB.stream_error("upstream", "plain").native is None


def test_error_is_scrubbed_in_place() -> None:
    error = GatewayError(
        ErrorKind.INVALID_REQUEST, f"bad {VLLM_KEY}", code=VLLM_KEY, param="medium-pw", status=400
    )

    assert SCRUB.error(error) is error
    assert (error.message, str(error), error.code, error.param, error.status) == (
        f"bad {MASK}",
        f"bad {MASK}",
        MASK,
        MASK,
        400,
    )


def test_secrets_of_a_config_are_keys_and_credential_headers() -> None:
    loaded = parse_config(
        """
providers:
  - {name: openai, type: openai, api_key: sk-config-openai-0001}
  - name: azure
    type: openai
    base_url: https://example.test/openai
    headers: {api-key: azure-key-0123456789, X-Trace: not-a-secret-value}
  - {name: proxy, type: anthropic, headers: {Authorization: Bearer proxy-token-0123456789}}
  - {name: local, type: openai, base_url: http://localhost:8000/v1}
""",
        source="test",
        env={},
    )

    assert secrets(loaded.config) == [
        "sk-config-openai-0001",
        "azure-key-0123456789",
        "Bearer proxy-token-0123456789",
        "proxy-token-0123456789",
    ]
    assert header_secrets({"x-api-key": "k", "Accept": "x"}) == ["k"]
