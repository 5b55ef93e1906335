"""What the gateway reads of a Responses API answer it relays as it is (an upstream that speaks
the Responses API itself): the Response's id, model, status and usage, and a stream event's
type, never the output. ``RELAYED`` names the protocol of such answers in the IR's native
carriers (``NativeRequest``, ``NativeResponse``).
"""

from __future__ import annotations

import msgspec

RELAYED = "openai_responses"
FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class UsageHead(msgspec.Struct):
    input_tokens: int = 0
    output_tokens: int = 0
    input_tokens_details: dict[str, int | None] | None = None
    output_tokens_details: dict[str, int | None] | None = None


class ErrorHead(msgspec.Struct):
    message: str = ""
    code: str | None = None
    type: str | None = None


class IncompleteHead(msgspec.Struct):
    reason: str | None = None


class ResponseHead(msgspec.Struct):
    id: str = ""
    model: str = ""
    status: str = ""
    usage: UsageHead | None = None
    incomplete_details: IncompleteHead | None = None
    error: ErrorHead | None = None


class EventHead(msgspec.Struct):
    """A stream event: its type; the Response of the lifecycle events; an ``error`` event's
    members (flat in the event)."""

    type: str = ""
    response: ResponseHead | None = None
    message: str | None = None
    code: str | None = None
