"""The cross-field checks of the ``auth`` section."""

from __future__ import annotations

from domain.policy.keys import parse_digest
from infrastructure.config.schema import GatewayConfig


def key_problems(config: GatewayConfig) -> list[str]:
    """What is wrong with ``auth.keys`` (for the config check)."""
    problems: list[str] = []
    apps = {app.name for app in config.apps}
    seen: dict[str, int] = {}
    for i, entry in enumerate(config.auth.keys):
        where = f"auth.keys[{i}]"
        if (entry.key is None) == (entry.key_sha256 is None):
            problems.append(f"{where}: set exactly one of key or key_sha256")
        elif entry.key is not None and not entry.key.strip():
            problems.append(f"{where}.key: empty")
        elif entry.key_sha256 is not None:
            try:
                parse_digest(entry.key_sha256)
            except ValueError as exc:
                problems.append(f"{where}.key_sha256: {exc}")
        if entry.name in seen:
            first = seen[entry.name]
            problems.append(f"{where}.name: duplicate key name '{entry.name}' (also auth.keys[{first}])")
        seen.setdefault(entry.name, i)
        for app in entry.apps or ():
            if app not in apps:
                known = ", ".join(sorted(apps)) or "none"
                problems.append(f"{where}.apps: unknown app '{app}' (known: {known})")
    return problems
