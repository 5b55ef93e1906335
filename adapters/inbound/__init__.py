"""Frontdoors: one folder per client protocol, one line per protocol in ``FRONTDOORS``.

A frontdoor's folder holds its codec (``decode.py``, ``encode.py``, ``stream.py``), its error
shape (``errors.py``) and its endpoints (``controller.py``), and exports ``FRONTDOOR``
(``adapters.inbound.frontdoor.Frontdoor``). What every frontdoor shares sits here: the chat
route (``chat_route.py``), request plumbing (``context.py``, ``json_body.py``), the SSE writer
(``streaming.py``) and the exception handlers (``handlers.py``).
"""

from __future__ import annotations

from adapters.inbound import anthropic, openai
from adapters.inbound.frontdoor import Frontdoor

FRONTDOORS: dict[str, Frontdoor] = {
    "openai": openai.FRONTDOOR,
    "anthropic": anthropic.FRONTDOOR,
}
