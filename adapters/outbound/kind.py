"""What a provider kind is: the settings its adapter takes, its default base URL, and how its
provider is built. ``PROVIDER_KINDS`` (``adapters/outbound/__init__.py``) names each kind; the
config schema, validation and the container read everything else from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec

from adapters.outbound.http import HttpClient
from adapters.outbound.scrub import Scrubber
from domain.ports import ChatProvider


class ProviderSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What every provider adapter takes from config, validated and substituted.

    A kind's settings subclass this: the fields it adds are that kind's own config keys, set
    flat in the provider's entry next to the common ones (``max_tokens_field: max_tokens``).
    """

    name: str
    base_url: str  # the provider's URL root, without a trailing slash
    api_key: str | None = None  # None: send no key (local servers) or see missing_key_var
    missing_key_var: str | None = None  # set when api_key named an unset variable
    headers: dict[str, str] = {}  # extra headers sent on every request
    default_max_tokens: int = 4096  # for targets that require max_tokens when a client omits it


S = TypeVar("S", bound=ProviderSettings)


@dataclass(frozen=True, slots=True)
class ProviderKind(Generic[S]):
    """One provider kind: the value of a provider's ``type``."""

    settings: type[S]  # ProviderSettings or a subclass adding the kind's own keys
    default_base_url: str  # when the provider's entry sets no base_url
    # settings, the provider's pooled HTTP client, and the scrubber every error leaving it passes
    create: Callable[[S, HttpClient, Scrubber], ChatProvider]

    def own_keys(self) -> tuple[msgspec.structs.FieldInfo, ...]:
        """The kind's own config keys: its settings' fields beyond ``ProviderSettings``'."""
        common = set(ProviderSettings.__struct_fields__)
        return tuple(f for f in msgspec.structs.fields(self.settings) if f.name not in common)
