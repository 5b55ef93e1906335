"""Prometheus metrics: the families (``gateway.py``), bounded labels (``labels.py``), circuit
states read at scrape time (``circuits.py``)."""

from infrastructure.metrics.gateway import (
    GatewayMetrics,
    default_metrics,
    mark_dead_at_exit,
    multiprocess_dir,
)

__all__ = ["GatewayMetrics", "default_metrics", "mark_dead_at_exit", "multiprocess_dir"]
