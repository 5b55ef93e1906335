"""Load ``config.yaml``: YAML, ``${VAR}`` / ``${VAR:-default}`` from the environment and an
optional ``.env`` file (the real environment wins), ``GATEWAY_<KEY>`` over the ``server``
section, strict validation listing every problem with its key path.

A provider whose ``api_key`` names an unset variable does not stop start-up: it is recorded in
``LoadedConfig.missing_keys`` (the container warns, and requests routed there get an error
naming the variable). Any other unset variable without a default is a config error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec
import yaml
from dotenv import dotenv_values

from infrastructure.config.auth import key_problems
from infrastructure.config.schema import GatewayConfig, RouteTargetConfig, ServerConfig
from infrastructure.config.structure import Unset, examine, is_scalar

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_MSGSPEC_PATH = re.compile(r" - at `\$(.*)`$")
ENV_FILE_VARIABLE = "GATEWAY_ENV_FILE"


class ConfigError(Exception):
    """The config cannot be used; ``str()`` lists every problem, one per line, with its path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class LoadedConfig:
    config: GatewayConfig
    source: str
    # provider name -> the unset variable its api_key names
    missing_keys: dict[str, str] = field(default_factory=dict)
    env_file: str | None = None  # the .env file read with it (read again on reload)


def env_file_path(environ: Mapping[str, str] | None = None) -> Path:
    """The ``.env`` file to read: ``GATEWAY_ENV_FILE`` when set, else ``.env`` in the working
    directory; absolute, so that a reload reads the same file whatever the working directory."""
    environ = os.environ if environ is None else environ
    return Path(environ.get(ENV_FILE_VARIABLE) or ".env").absolute()


def read_environment(env_file: str | Path | None = None) -> dict[str, str]:
    """The process environment over the ``.env`` file's values (if the file exists); a file
    that exists but cannot be read is a ``ConfigError``."""
    env_file = env_file_path() if env_file is None else env_file
    values: dict[str, str] = {}
    if Path(env_file).is_file():
        try:
            with open(env_file, encoding="utf-8") as stream:
                values.update({k: v for k, v in dotenv_values(stream=stream).items() if v is not None})
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(str(env_file), [f"cannot read the file: {reason}"]) from None
    values.update(os.environ)
    return values


def _substitute(value: str, env: Mapping[str, str], unset: list[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = env.get(name)
        if found:  # an empty variable counts as unset
            return found
        if default is not None:
            return default
        unset.append(name)
        return ""

    return _VAR.sub(replace, value)


def _walk(node: Any, path: str, env: Mapping[str, str], on_unset: Any) -> Any:
    if isinstance(node, dict):
        return {k: _walk(v, f"{path}.{k}" if path else str(k), env, on_unset) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, f"{path}[{i}]", env, on_unset) for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:
        unset: list[str] = []
        result = _substitute(node, env, unset)
        return on_unset(path, unset) if unset else result
    return node


def _server_overrides(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """Every scalar ``server`` key can be set by ``GATEWAY_<KEY>`` (``GATEWAY_PORT``, ...), which
    wins over the file. Returns the overridden paths and the variable each came from."""
    sources: dict[str, str] = {}
    for info in msgspec.structs.fields(ServerConfig):
        variable = f"GATEWAY_{info.name.upper()}"
        value = env.get(variable)
        if not value or not is_scalar(info.type):
            continue
        server = data.setdefault("server", {})
        if not isinstance(server, dict):
            break  # reported as a problem of ``server`` itself
        server[info.encode_name] = value
        sources[f"server.{info.encode_name}"] = variable
    return sources


def parse_config(text: str, *, source: str, env: Mapping[str, str]) -> LoadedConfig:
    """Validate ``text``; a ``ConfigError`` lists every problem found, each with its key path."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"not valid YAML: {exc}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, ["the top level must be a mapping (server, apps, providers, routing)"])

    missing_keys: dict[str, str] = {}
    unset_paths: list[str] = []
    key_path = re.compile(r"^providers\[(\d+)\]\.api_key$")

    def on_unset(path: str, names: list[str]) -> Any:
        match = key_path.match(path)
        if match:
            index = int(match.group(1))
            name = data["providers"][index].get("name", f"providers[{index}]")
            missing_keys[str(name)] = names[0]
            return None
        unset_paths.append(path)
        return Unset(tuple(names))

    data = _walk(data, "", env, on_unset)
    sources = _server_overrides(data, env)
    if not unset_paths:
        try:
            config = msgspec.convert(data, GatewayConfig, strict=False)
        except msgspec.ValidationError:
            pass  # examined below, for every problem rather than the first
        else:
            problems = _annotate(check(config), sources)
            if problems:
                raise ConfigError(source, problems)
            return LoadedConfig(config=config, source=source, missing_keys=missing_keys)
    raise ConfigError(source, _all_problems(data, sources))


def _all_problems(data: dict[str, Any], sources: dict[str, str]) -> list[str]:
    """Structural problems, then the cross-field ones of what remains valid."""
    structure = examine(data, GatewayConfig, sources)
    problems = structure.problems
    if structure.complete:
        try:
            partial = msgspec.convert(structure.cleaned, GatewayConfig, strict=False)
        except msgspec.ValidationError as exc:  # a problem the walk does not know how to name
            problems.append(_readable(str(exc)))
        else:
            cross = [p for p in check(partial) if not _about_dropped(p, structure.dropped)]
            problems += _annotate(cross, sources)
    return problems or ["invalid configuration"]


def _about_dropped(problem: str, dropped: list[str]) -> bool:
    """A cross-field problem at a dropped value or at the mapping that held it: the same
    problem again, in other words."""
    path = problem.split(": ", 1)[0]
    for where in dropped:
        holder = where.rsplit(".", 1)[0]
        if path in (where, holder) or path.startswith((f"{where}.", f"{where}[")):
            return True
    return False


def _annotate(problems: list[str], sources: dict[str, str]) -> list[str]:
    annotated = []
    for problem in problems:
        path, _, message = problem.partition(": ")
        annotated.append(f"{path} (from {sources[path]}): {message}" if path in sources else problem)
    return annotated


def load_config(
    path: str | Path, *, env: Mapping[str, str] | None = None, env_file: str | Path | None = None
) -> LoadedConfig:
    """Load and validate the file at ``path``. ``env`` defaults to the process environment over
    ``env_file`` (default: ``env_file_path()``)."""
    path = Path(path)
    env_path = Path(env_file).absolute() if env_file is not None else env_file_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror}"]) from None
    environment = read_environment(env_path) if env is None else env
    loaded = parse_config(text, source=str(path), env=environment)
    return replace(loaded, env_file=str(env_path))


def _readable(message: str) -> str:
    """msgspec's "... - at `$.apps[0].path`" as "apps[0].path: ..."."""
    match = _MSGSPEC_PATH.search(message)
    if not match:
        return message
    where = match.group(1).lstrip(".") or "(top level)"
    return f"{where}: {message[: match.start()]}"


def check(config: GatewayConfig) -> list[str]:
    """Cross-field rules msgspec cannot express; every problem is returned, with its path."""
    problems: list[str] = []
    names = [p.name for p in config.providers]
    known = set(names)

    def need(provider: str, where: str) -> None:
        if provider not in known:
            problems.append(f"{where}: unknown provider '{provider}' (known: {', '.join(names) or 'none'})")

    for name in {n for n in names if names.count(n) > 1}:
        problems.append(f"providers: duplicate provider name '{name}'")
    for i, p in enumerate(config.providers):
        if p.base_url is not None and not p.base_url.startswith(("http://", "https://")):
            problems.append(f"providers[{i}].base_url: must start with http:// or https://")
        for label in ("connect", "first_byte", "idle", "total"):
            if getattr(p.timeouts, label) <= 0:
                problems.append(f"providers[{i}].timeouts.{label}: must be positive")
        if p.retries.attempts < 1:
            problems.append(f"providers[{i}].retries.attempts: must be at least 1")
        problems += p.circuit_breaker.problems(f"providers[{i}].circuit_breaker")

    def destination(route: RouteTargetConfig, where: str) -> None:
        if (route.provider is None) == (not route.targets):
            problems.append(f"{where}: set exactly one of provider or targets")
        if route.provider is not None:
            need(route.provider, f"{where}.provider")
        for k, target in enumerate(route.targets):
            need(target.provider, f"{where}.targets[{k}].provider")
            if target.weight <= 0:
                problems.append(f"{where}.targets[{k}].weight: must be positive")
        for k, fallback in enumerate(route.fallbacks):
            need(fallback.provider, f"{where}.fallbacks[{k}].provider")

    seen_paths: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    for i, app in enumerate(config.apps):
        where = f"apps[{i}]"
        if not app.path.startswith("/") or (len(app.path) > 1 and app.path.endswith("/")):
            problems.append(f"{where}.path: must start with '/' and not end with '/' (got '{app.path}')")
        if app.path in seen_paths:
            first = seen_paths[app.path]
            problems.append(f"{where}.path: duplicate app path '{app.path}' (also apps[{first}])")
        seen_paths.setdefault(app.path, i)
        if app.name in seen_names:
            problems.append(f"{where}.name: duplicate app name '{app.name}'")
        seen_names.setdefault(app.name, i)
        for key, provider in app.model_routing.prefix_providers.items():
            need(provider, f"{where}.model_routing.prefix_providers.{key}")
        for j, rw in enumerate(app.model_routing.rewrites):
            rw_where = f"{where}.model_routing.rewrites[{j}]"
            if (rw.model_exact is None) == (rw.model_prefix is None):
                problems.append(f"{rw_where}: set exactly one of model_exact or model_prefix")
            destination(rw, rw_where)
        for j, model in enumerate(app.models):
            if not isinstance(model.get("id"), str):
                problems.append(f"{where}.models[{j}].id: required, a string")
    for i, rule in enumerate(config.routing.rules):
        destination(rule, f"routing.rules[{i}]")
    default = config.routing.default_provider
    if isinstance(default, str):
        need(default, "routing.default_provider")
    elif default is not None:
        destination(default, "routing.default_provider")
    priced: dict[tuple[str | None, str], int] = {}
    for i, price in enumerate(config.pricing):
        if price.provider is not None:
            need(price.provider, f"pricing[{i}].provider")
        first = priced.setdefault((price.provider, price.model), i)
        if first != i:
            problems.append(f"pricing[{i}]: a second price for '{price.model}' (also pricing[{first}])")
    if not 0 < config.server.port < 65536:
        problems.append("server.port: must be between 1 and 65535")
    if config.server.workers < 1:
        problems.append("server.workers: must be at least 1")
    problems += key_problems(config)
    return problems
