"""The policy's decisions for one request: its key, then its limits, then its model.

``Policy`` is one configuration's keys over the state store (which outlives configurations: a
reload keeps counted spend and held slots). A frontdoor's router authenticates each request
and calls ``Grant.admit`` before its handler runs (app, budget, rpm, concurrent); the service
calls ``Grant.admit_call`` once it knows the model and the messages (model globs, tpm), before
any upstream call; the router settles the grant when the response has ended, however it ended.
Each refusal is a ``GatewayError`` that the frontdoor renders in its protocol's shape, and sets
``record.rejected``.
"""

from __future__ import annotations

import math
from itertools import count

from domain.errors import ErrorKind, GatewayError
from domain.ir import ChatRequest
from domain.policy.estimate import estimate_input_tokens
from domain.policy.keys import GatewayKey, KeyTable
from domain.policy.periods import period_end, period_index
from domain.policy.ports import Admission, PolicyState, Settlement, StateUnavailable, TokenAdmission
from domain.request_record import RequestRecord

CONCURRENT_RETRY_AFTER = 1.0  # seconds a client refused for concurrency is told to wait
_PERIOD_WORDS = {"day": "today", "week": "this week", "month": "this month", "total": "in total"}
_tickets = count()


class Policy:
    """One configuration's keys over the (longer-lived) state store."""

    __slots__ = ("state", "table", "ticket_prefix")

    def __init__(self, table: KeyTable, state: PolicyState, ticket_prefix: str = "") -> None:
        self.table = table
        self.state = state
        self.ticket_prefix = ticket_prefix  # unique per process: tickets name slots in a shared store

    def authenticate(self, presented: str | None, record: RequestRecord) -> Grant:
        key = self.table.lookup(presented)
        if key is None:
            record.rejected = "auth"
            raise GatewayError(
                ErrorKind.AUTHENTICATION,
                "Invalid API key: send a key this gateway knows.",
                code="invalid_api_key",
            )
        record.key = key.name
        return Grant(key, self.state, f"{self.ticket_prefix}{next(_tickets)}")


class Grant:
    """What one authenticated request was granted, and what it must give back at its end."""

    __slots__ = ("_estimate", "admission", "held", "key", "state", "ticket", "tokens", "tpm_second")

    def __init__(self, key: GatewayKey, state: PolicyState, ticket: str) -> None:
        self.key = key
        self.state = state
        self.ticket = ticket
        self.admission: Admission | None = None
        self.tokens: TokenAdmission | None = None
        self.held = False  # a concurrency slot is held
        self.tpm_second: int | None = None  # where its estimated tokens were counted
        self._estimate = 0

    async def admit(self, app: str, record: RequestRecord) -> None:
        """The checks that need no body: the app, then budget, rpm and concurrent at once."""
        key = self.key
        if not key.may_use_app(app):
            record.rejected = "forbidden"
            raise GatewayError(
                ErrorKind.PERMISSION,
                f"The key '{key.name}' may not use the app '{app}'.",
                code="app_not_allowed",
            )
        limits, budget = key.limits, key.budget
        if limits.rpm is None and limits.concurrent is None and budget is None:
            return
        try:
            admission = await self.state.admit(
                key.name,
                self.ticket,
                rpm=limits.rpm,
                concurrent=limits.concurrent,
                budget_usd=None if budget is None else budget.usd,
                budget_period=key.usage_period,
            )
        except StateUnavailable:
            record.rejected = "unavailable"
            raise
        self.admission = admission
        refused = admission.refused
        if refused is None:
            self.held = limits.concurrent is not None
            return
        record.rejected = refused
        if refused == "budget":
            assert budget is not None
            end = period_end(budget.period, period_index(budget.period, admission.now))
            raise GatewayError(
                ErrorKind.RATE_LIMITED,
                f"The key '{key.name}' has used its budget: ${admission.spend:.4f} of ${budget.usd:g} "
                f"{_PERIOD_WORDS[budget.period]}.",
                code="insufficient_quota",
                retry_after=None if end is None else max(0.0, end - admission.now),
            )
        if refused == "rpm":
            message = f"Rate limit reached for the key '{key.name}': {limits.rpm} requests per minute."
        else:
            message = f"The key '{key.name}' has {limits.concurrent} requests in flight, its limit."
        raise GatewayError(
            ErrorKind.RATE_LIMITED,
            f"{message} Retry in {math.ceil(admission.retry_after)} s.",
            code="rate_limit_exceeded",
            retry_after=admission.retry_after,
        )

    def check_model(self, model: str, record: RequestRecord) -> None:
        if not self.key.may_use_model(model):
            record.rejected = "forbidden"
            raise GatewayError(
                ErrorKind.PERMISSION,
                f"The key '{self.key.name}' may not use the model '{model}'.",
                param="model",
                code="model_not_allowed",
            )

    async def admit_call(self, request: ChatRequest, record: RequestRecord) -> None:
        """The checks that need the call: its model, then its estimated tokens under tpm."""
        self.check_model(request.model, record)
        tpm = self.key.limits.tpm
        if tpm is None or self.tpm_second is not None:  # counted once per request (not per retry)
            return
        estimate = estimate_input_tokens(request)
        try:
            tokens = await self.state.admit_tokens(self.key.name, tpm=tpm, tokens=estimate)
        except StateUnavailable:
            record.rejected = "unavailable"
            raise
        self.tokens = tokens
        if tokens.refused:
            record.rejected = "tpm"
            raise GatewayError(
                ErrorKind.RATE_LIMITED,
                f"Rate limit reached for the key '{self.key.name}': {tpm} tokens per minute. "
                f"Retry in {math.ceil(tokens.retry_after)} s.",
                code="rate_limit_exceeded",
                retry_after=tokens.retry_after,
            )
        self.tpm_second = tokens.second
        self._estimate = estimate

    def settlement(self, record: RequestRecord) -> Settlement | None:
        """What to give back and add once the response has ended (None: nothing to do)."""
        key = self.key
        if record.rejected is not None and not self.held and self.tpm_second is None:
            return None  # refused before anything was counted
        inp, out = record.input_tokens or 0, record.output_tokens or 0
        return Settlement(
            concurrent_ticket=self.ticket if self.held else None,
            tpm_second=self.tpm_second,
            estimated_tokens=self._estimate,
            input_tokens=inp,
            output_tokens=out,
            cost_usd=record.cost_usd or 0.0,
            usage_period=key.usage_period,
        )
