"""Log lines for the resilience policies: failed attempts, skipped targets, circuit changes."""

from __future__ import annotations

import structlog

from domain.circuits import CircuitSnapshot
from domain.errors import GatewayError
from domain.routing import Target

log = structlog.get_logger("gateway.upstream")


class LoggingObserver:
    def attempt_failed(
        self, provider: str, model: str, error: GatewayError, *, attempt: int, retry_in: float | None
    ) -> None:
        log.warning(
            "upstream.failed",
            provider=provider,
            upstream_model=model,
            attempt=attempt,
            kind=error.kind.value,
            status=error.status,
            error=error.message,
            next="retry" if retry_in is not None else "next_target",
            retry_in_s=round(retry_in, 3) if retry_in is not None else None,
        )

    def targets_skipped(self, model: str, targets: list[Target]) -> None:
        log.warning(
            "route.targets_skipped", model=model, providers=[t.provider for t in targets],
            upstream_models=[t.model for t in targets], reason="circuit_open",
        )

    def circuit_changed(self, circuit: CircuitSnapshot) -> None:
        (log.warning if circuit.state == "open" else log.info)(
            "circuit.changed",
            provider=circuit.provider,
            upstream_model=circuit.model,  # None: the provider's own (reachability) circuit
            state=circuit.state,
            requests=circuit.requests,
            failures=circuit.failures,
            failure_ratio=circuit.failure_ratio,
            cooldown_s=circuit.cooldown,
        )

    def stream_failed(
        self, provider: str, model: str, kind: str, message: str, exc: BaseException | None = None
    ) -> None:
        log.warning(
            "upstream.stream_failed", provider=provider, upstream_model=model, kind=kind, error=message,
            exc_info=exc,
        )
