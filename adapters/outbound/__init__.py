"""Providers: one folder per provider kind, one line per kind in ``PROVIDER_KINDS``.

A kind's folder holds its settings (``settings.py``: its own config keys and default base URL),
its provider and codecs, and exports ``KIND`` (``adapters.outbound.kind.ProviderKind``). What
every HTTP kind shares sits here: the provider skeleton (``http_provider.py``), the upstream
error policy (``errors.py``), the scrubber (``scrub.py``), the block synthesiser for
delta-style streams (``delta_blocks.py``), id minting (``ids.py``), the reasoning scale
(``reasoning.py``), and the HTTP port (``http/``).
"""

from __future__ import annotations

from typing import Any

from adapters.outbound import anthropic, openai
from adapters.outbound.kind import ProviderKind

PROVIDER_KINDS: dict[str, ProviderKind[Any]] = {
    "openai": openai.KIND,
    "anthropic": anthropic.KIND,
}
