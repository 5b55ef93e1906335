"""The ports the domain needs: providers that answer chat requests, an observer of the
resilience policies (implemented with logging in infrastructure), a store of conversation
turns (``previous_response_id``; in-process or Redis, ``adapters/state/``), and a tracer of
upstream attempts (OpenTelemetry, in infrastructure; absent when tracing is off)."""

from __future__ import annotations

from typing import Protocol as _Protocol

from domain.circuits import CircuitSnapshot
from domain.errors import GatewayError
from domain.ir import ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, EventStream, Protocol
from domain.request_record import RequestRecord
from domain.routing import Target


class ChatProvider(_Protocol):
    """An upstream LLM API. Implementations live in ``adapters/outbound/<kind>/``.

    ``model`` is the upstream model to ask for (routing may have rewritten the request's).
    Errors are raised as ``domain.errors.GatewayError``. ``stream`` returns an async generator that
    opens the upstream request on its first ``__anext__`` and closes it on ``aclose()``; an
    upstream error *frame* inside a stream is yielded as ``StreamError``, a transport failure
    is raised.
    """

    name: str
    protocol: Protocol
    # True when count_tokens is a local estimate that never reaches the upstream: such a count
    # says nothing about the provider's health, so it bypasses retries and circuit breakers.
    counts_locally: bool

    async def complete(self, request: ChatRequest, model: str) -> ChatResponse: ...

    def stream(self, request: ChatRequest, model: str) -> EventStream: ...

    async def count_tokens(self, request: ChatRequest, model: str) -> int: ...

    async def embed(self, request: EmbeddingRequest, model: str) -> EmbeddingResponse:
        """The embeddings of ``request`` (relayed); a kind whose API has none raises
        ``INVALID_REQUEST`` saying so."""
        ...


class ConversationStore(_Protocol):
    """Stored conversation turns by response id: opaque bytes, each kept ``ttl`` seconds.

    ``get`` of an unknown, expired or evicted id is None; ``delete`` says whether it held one.
    A backend that cannot be reached raises ``GatewayError`` (``UNAVAILABLE``).
    """

    async def put(self, key: str, value: bytes, ttl: float) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> bool: ...

    async def aclose(self) -> None: ...


class ResilienceObserver(_Protocol):
    def attempt_failed(
        self, provider: str, model: str, error: GatewayError, *, attempt: int, retry_in: float | None
    ) -> None: ...

    def targets_skipped(self, model: str, targets: list[Target]) -> None: ...

    def circuit_changed(self, circuit: CircuitSnapshot) -> None: ...

    def stream_failed(
        self, provider: str, model: str, kind: str, message: str, exc: BaseException | None = None
    ) -> None: ...


class NullObserver:
    def attempt_failed(
        self, provider: str, model: str, error: GatewayError, *, attempt: int, retry_in: float | None
    ) -> None:
        pass

    def targets_skipped(self, model: str, targets: list[Target]) -> None:
        pass

    def circuit_changed(self, circuit: CircuitSnapshot) -> None:
        pass

    def stream_failed(
        self, provider: str, model: str, kind: str, message: str, exc: BaseException | None = None
    ) -> None:
        pass


class AttemptSpan(_Protocol):
    """One upstream attempt's span: the current span while the attempt's call runs (so the
    upstream request carries its trace context)."""

    def detach(self) -> None:
        """The call returned: stop being the current span (a stream's goes on until it ends)."""
        ...

    def end(
        self, error: str | None = None, response: ChatResponse | None = None, *,
        model: str | None = None, finish_reason: str | None = None, record: RequestRecord | None = None,
    ) -> None:
        """End the attempt: ``error`` (an error kind) or a success, with what its answer said
        (a response, or a stream's model, finish reason and the usage on its record)."""
        ...


class AttemptTracer(_Protocol):
    def attempt(self, record: RequestRecord, provider: ChatProvider, model: str) -> AttemptSpan: ...
