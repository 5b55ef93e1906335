"""``GET /metrics``: the Prometheus text format, for whoever ``AdminAccess`` lets in.

With ``--workers N`` every worker shares a multiprocess directory (set up by ``python -m app``)
and the answer sums them all, whichever worker serves the scrape.
"""

from __future__ import annotations

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler
from prometheus_client import CONTENT_TYPE_LATEST

from app.admin_access import AdminAccess
from infrastructure.metrics import GatewayMetrics


def metrics_handler(metrics: GatewayMetrics, access: AdminAccess) -> HTTPRouteHandler:
    @get("/metrics", guards=[access.guard], sync_to_thread=False, include_in_schema=False)
    def scrape() -> Response[bytes]:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return scrape
