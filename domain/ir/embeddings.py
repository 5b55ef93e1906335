"""Embedding requests: relayed, not translated (only OpenAI-protocol upstreams embed).

The gateway reads the model (to route) and leaves the rest of the client's body undecoded; the
upstream's answer goes back as it came, its usage read for the record.
"""

from __future__ import annotations

import msgspec

from domain.ir.base import IRStruct
from domain.ir.response import Usage


class EmbeddingRequest(IRStruct, frozen=True):
    model: str
    fields: dict[str, msgspec.Raw]  # the client's body, top-level fields undecoded


class EmbeddingResponse(IRStruct, frozen=True):
    body: bytes  # the upstream's answer, as received
    usage: Usage = Usage()
