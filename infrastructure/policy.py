"""The policy a config describes (its keys), over the state store the process keeps.

The store outlives configurations: a reload builds a new ``Policy`` (new keys, limits and
budgets) over the same store, so counted spend and slots in flight carry over. It is created
when keys first appear, from that config's ``state`` section: Redis when ``redis_url`` is set,
else this process with usage and spend in ``gateway-state.sqlite3`` beside the config file
(``GATEWAY_STATE_FILE`` overrides the path). Changing ``state`` takes a restart.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from pathlib import Path

import structlog

from adapters.state.memory import MemoryState
from adapters.state.redis import RedisState
from adapters.state.spend_file import SpendFile
from domain.policy import Budget, GatewayKey, KeyTable, Limits, Policy, PolicyState, digest
from domain.policy.keys import parse_digest
from infrastructure.config.loader import LoadedConfig
from infrastructure.config.schema import GatewayConfig, GatewayKeyConfig, StateConfig

log = structlog.get_logger("gateway.policy")

STATE_FILE_VARIABLE = "GATEWAY_STATE_FILE"
STATE_FILE_NAME = "gateway-state.sqlite3"


def gateway_key(entry: GatewayKeyConfig) -> GatewayKey:
    limits = entry.limits
    return GatewayKey(
        name=entry.name,
        digest=digest(entry.key) if entry.key else parse_digest(entry.key_sha256 or ""),
        apps=None if entry.apps is None else frozenset(entry.apps),
        models=None if entry.models is None else tuple(entry.models),
        limits=Limits(rpm=limits.rpm, tpm=limits.tpm, concurrent=limits.concurrent),
        budget=None if entry.budget is None else Budget(usd=entry.budget.usd, period=entry.budget.period),
    )


def state_file(loaded: LoadedConfig) -> Path:
    override = os.environ.get(STATE_FILE_VARIABLE)
    if override:
        return Path(override)
    return Path(loaded.source).absolute().parent / STATE_FILE_NAME


class PolicyStore:
    """The process's policy state, created when a config first has keys, kept across reloads."""

    def __init__(self) -> None:
        self.state: PolicyState | None = None
        self._settings: StateConfig | None = None
        # tickets name concurrency slots in a store shared by replicas: unique per process
        self.ticket_prefix = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}:"

    def get(self, loaded: LoadedConfig) -> PolicyState:
        settings = loaded.config.state
        if self.state is None:
            self._settings = settings
            if settings.redis_url:
                self.state = RedisState(
                    settings.redis_url,
                    prefix=settings.key_prefix,
                    on_unavailable=settings.on_unavailable,
                    fallback=MemoryState(),
                )
            else:
                self.state = MemoryState(SpendFile(state_file(loaded)))
        elif settings != self._settings:
            log.warning("config.restart_needed", settings=["state"],
                        detail="the state store changes at the next restart")  # fmt: skip
        return self.state

    async def flush(self) -> None:
        if self.state is not None:
            await self.state.flush()

    async def aclose(self) -> None:
        if self.state is not None:
            await self.state.aclose()


def build_policy(loaded: LoadedConfig, store: PolicyStore) -> Policy | None:
    """The policy of ``loaded`` (None without ``auth.keys``: the frontdoors are open)."""
    keys = loaded.config.auth.keys
    if not keys:
        return None
    return Policy(KeyTable(gateway_key(entry) for entry in keys), store.get(loaded), store.ticket_prefix)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def startup_warnings(config: GatewayConfig) -> list[tuple[str, str]]:
    """What the operator must hear at start-up: (event, detail) pairs."""
    server = config.server
    found = []
    if not config.auth.keys and not _loopback(server.host):
        found.append(("auth.open", f"no auth.keys: anyone who can reach {server.host}:{server.port} "
                                   "can use the gateway and its provider keys"))  # fmt: skip
    if config.auth.keys and not config.state.redis_url and server.workers > 1:
        found.append(("state.per_worker", f"limits are counted in each of the {server.workers} workers "
                                          "apart (set state.redis_url to share them)"))  # fmt: skip
    return found
