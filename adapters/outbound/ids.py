"""Ids the gateway mints where an upstream sent none."""

from __future__ import annotations

from uuid import uuid4


def new_call_id() -> str:
    """An id for a tool call the upstream sent without one (legacy ``function_call``, some
    servers' streams): other protocols require one to pair the call with its result."""
    return "call_" + uuid4().hex[:24]
