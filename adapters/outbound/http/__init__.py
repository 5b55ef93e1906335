"""The narrow upstream-HTTP port: all a provider adapter needs from the network.

Three things: POST a body and read the whole answer; POST a body and iterate the SSE frames of
the answer, a read's worth at a time; close the pool. One module per client implements it
(``httptools_client``, the default, and ``httpx_client``, which also honours proxy settings from
the environment); ``create_http_client`` picks one by name. Both bound what an upstream sends
the same way (``body.py``: head, body after decompression, line, stream duration). Transport
failures are raised as ``GatewayError`` (``UNAVAILABLE`` for connection errors, ``TIMEOUT`` for
timeouts) so that providers and the service never see a library's exception types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Literal, Protocol

import msgspec

from adapters.outbound.http.body import ResponseLimits
from adapters.protocols.sse import SSEFrame

ClientKind = Literal["httptools", "httpx"]


class Timeouts(msgspec.Struct, frozen=True, kw_only=True):
    """Seconds. ``read``: the longest wait for the next bytes (first byte or between chunks);
    ``total``: the whole exchange of a non-streaming request; ``stream_max``: the whole
    exchange of a streaming one (None: no bound)."""

    connect: float = 10.0
    read: float = 300.0
    total: float = 600.0
    stream_max: float | None = None


class PoolLimits(msgspec.Struct, frozen=True, kw_only=True):
    max_connections: int = 1000
    keepalive_expiry: float = 30.0


class UpstreamResponse(msgspec.Struct, frozen=True):
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class UpstreamStream(Protocol):
    """An open streaming response. Closed by the context manager that produced it."""

    status: int
    headers: Mapping[str, str]  # lower-case names

    async def read(self) -> bytes:
        """The whole remaining body (used for error statuses)."""
        ...

    def frames(self) -> AsyncIterator[list[SSEFrame]]:
        """The body's SSE frames, in the batches that each read of the body completes (never an
        empty batch; the body's end completes its last frame, blank line or not)."""
        ...


class HttpClient(Protocol):
    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse: ...

    def stream(
        self, url: str, headers: Mapping[str, str], body: bytes
    ) -> AbstractAsyncContextManager[UpstreamStream]: ...

    async def aclose(self) -> None: ...


def create_http_client(
    kind: ClientKind,
    *,
    name: str,
    timeouts: Timeouts,
    limits: PoolLimits | None = None,
    response: ResponseLimits | None = None,
) -> HttpClient:
    """One pooled client for the provider ``name`` (used in error messages)."""
    limits = limits or PoolLimits()
    if kind == "httpx":
        from adapters.outbound.http.httpx_client import HttpxClient

        return HttpxClient(name=name, timeouts=timeouts, limits=limits, response=response)
    if kind == "httptools":
        from adapters.outbound.http.httptools_client import HttptoolsClient

        return HttptoolsClient(name=name, timeouts=timeouts, limits=limits, response=response)
    raise ValueError(f"unknown HTTP client kind: {kind!r}")
