"""Log lines for the resilience policies: failed attempts, skipped targets, circuit changes."""

from __future__ import annotations

import structlog

from domain.errors import GatewayError

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

    def targets_skipped(self, model: str, providers: list[str]) -> None:
        log.warning("route.targets_skipped", model=model, providers=providers, reason="circuit_open")

    def circuit_changed(self, provider: str, state: str) -> None:
        (log.warning if state == "open" else log.info)("circuit.changed", provider=provider, state=state)

    def stream_failed(
        self, provider: str, model: str, kind: str, message: str, exc: BaseException | None = None
    ) -> None:
        log.warning(
            "upstream.stream_failed", provider=provider, upstream_model=model, kind=kind, error=message,
            exc_info=exc,
        )
