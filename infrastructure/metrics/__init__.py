"""Prometheus metrics: the families (``gateway.py``), bounded labels (``labels.py``), circuit
states read at scrape time (``circuits.py``)."""

from infrastructure.metrics.gateway import (
    GatewayMetrics,
    default_metrics,
    multiprocess_dir,
    worker_stopped,
)

__all__ = ["GatewayMetrics", "default_metrics", "worker_stopped", "multiprocess_dir"]
