"""A bare Litestar + aiohttp proxy: the calibration point for the gateway's own overhead.

``POST /memory/{json|sse}/v1/chat/completions`` is the floor below it: uvicorn + Litestar
reading the request and answering the same recorded reply (or 40-frame stream, a frame per
write) from memory, with no upstream at all.

It forwards ``POST /{json|sse}/v1/chat/completions`` to the fake upstream with one pooled
``aiohttp.ClientSession`` and relays the answer (whole, or chunk by chunk), with nothing else:
no IR, no routing, no logging. The gateway's CPU per request minus this one's, measured in the
same run, is what routing, translation, resilience and logging cost. Run by ``python -m bench``
as ``python -m bench.bare_proxy PORT UPSTREAM_URL`` under uvicorn (uvloop, httptools).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import uvicorn
from litestar import Litestar, Request, Response, post
from litestar.response import Stream

from bench.upstream import FIXTURES, openai_stream_frames

UPSTREAM = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8000"
_HEADERS = {"content-type": "application/json", "authorization": "Bearer bench"}
_session: aiohttp.ClientSession | None = None


@asynccontextmanager
async def lifespan(_: Litestar) -> AsyncIterator[None]:
    global _session
    _session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4096))
    yield
    await _session.close()


@post("/{kind:str}/v1/chat/completions", status_code=200)
async def proxy(request: Request, kind: str) -> Response[bytes]:
    assert _session is not None
    body = await request.body()
    url = f"{UPSTREAM}/{kind}/v1/chat/completions"
    if kind == "json":
        async with _session.post(url, data=body, headers=_HEADERS) as upstream:
            return Response(await upstream.read(), media_type="application/json")
    upstream = await _session.post(url, data=body, headers=_HEADERS)

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.content.iter_any():
                yield chunk
        finally:
            upstream.release()

    return Stream(relay(), media_type="text/event-stream")


_JSON = (FIXTURES / "openai/chat_text.json").read_bytes()
_FRAMES = openai_stream_frames()


@post("/memory/{kind:str}/v1/chat/completions", status_code=200)
async def memory(request: Request, kind: str) -> Response[bytes]:
    await request.body()
    if kind == "json":
        return Response(_JSON, media_type="application/json")

    async def frames() -> AsyncIterator[bytes]:
        for frame in _FRAMES:
            yield frame

    return Stream(frames(), media_type="text/event-stream")


app = Litestar([proxy, memory], lifespan=[lifespan], logging_config=None)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
                access_log=False, log_config=None)
