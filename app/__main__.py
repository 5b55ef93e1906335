"""``python -m app [--config FILE] [--host H] [--port P] ...``: run the gateway.

Every ``server`` setting is taken, in order of precedence, from a command-line flag, the
process environment (``GATEWAY_<KEY>``), the ``.env`` file, then the config file. Flags are
handed on as ``GATEWAY_<KEY>`` variables, so uvicorn's worker processes and every reload see
the same values.

With more than one worker, the workers' metrics are summed through prometheus-client's
multiprocess mode: a fresh directory per server start (``PROMETHEUS_MULTIPROC_DIR``, unless the
environment already names one, which is then used as it is), removed when the server exits.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from importlib import metadata
from typing import Any

import structlog

from infrastructure.config.loader import (
    ENV_FILE_VARIABLE,
    ConfigError,
    LoadedConfig,
    env_file_path,
    load_config,
    read_environment,
)

# flag attribute -> the server key it sets (through GATEWAY_<KEY>)
_SERVER_FLAGS = ("host", "port", "workers", "log_level", "log_format")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="poly-llm-gateway", description="Run the LLM gateway.")
    parser.add_argument("--config", help="config file (env GATEWAY_CONFIG; default config.yaml)")
    parser.add_argument("--host", help="listen address (env GATEWAY_HOST; default server.host)")
    parser.add_argument("--port", type=int, help="listen port (env GATEWAY_PORT; default server.port)")
    parser.add_argument(
        "--workers", type=int, help="worker processes (env GATEWAY_WORKERS; default server.workers)"
    )
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"],
                        help="env GATEWAY_LOG_LEVEL; default server.log_level")
    parser.add_argument("--log-format", choices=["auto", "json", "console"],
                        help="env GATEWAY_LOG_FORMAT; default server.log_format")
    parser.add_argument("--check", action="store_true",
                        help="validate the config, list its problems and exit (0: valid, 2: invalid)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    return parser.parse_args(argv)


def version() -> str:
    try:
        return metadata.version("poly-llm-gateway")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    for name in _SERVER_FLAGS:
        value = getattr(args, name)
        if value is not None:
            os.environ[f"GATEWAY_{name.upper()}"] = str(value)
    env_file = env_file_path()
    try:
        environment = read_environment(env_file)
        config_path = os.path.abspath(args.config or environment.get("GATEWAY_CONFIG") or "config.yaml")
        loaded = load_config(config_path, env=environment, env_file=env_file)
    except ConfigError as exc:  # before uvicorn starts: a bad config never serves
        print(exc, file=sys.stderr)
        sys.exit(2)
    if args.check:
        report_valid(loaded)
        return
    # Workers load the config again through the factory: hand them the same files.
    os.environ["GATEWAY_CONFIG"] = config_path
    os.environ[ENV_FILE_VARIABLE] = str(env_file)
    serve(loaded)


def report_valid(loaded: LoadedConfig) -> None:
    config = loaded.config
    print(f"{loaded.source}: valid ({len(config.apps)} apps, {len(config.providers)} providers; "
          f"serves {config.server.host}:{config.server.port})")
    for provider, variable in loaded.missing_keys.items():
        print(f"  warning: {variable} is not set: requests routed to provider '{provider}' will fail")


def serve(loaded: LoadedConfig) -> None:
    import signal

    from infrastructure.logging import configure_logging
    from infrastructure.policy import startup_warnings

    server = loaded.config.server
    configure_logging(server.log_level, server.log_format)
    for event, detail in startup_warnings(loaded.config):
        structlog.get_logger("gateway.policy").warning(event, detail=detail)
    # uvicorn drains on SIGTERM, then re-raises the signal it caught: without a handler of ours
    # the default action would end a clean shutdown with status 143.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with shared_metrics(server.workers):
        run_uvicorn(loaded)


@contextlib.contextmanager
def shared_metrics(workers: int) -> Iterator[None]:
    """With several workers: a fresh multiprocess directory for their metrics, set in the
    environment they inherit (before any of them imports prometheus-client), removed at exit."""
    variable = "PROMETHEUS_MULTIPROC_DIR"
    if workers <= 1 or os.environ.get(variable):
        yield
        return
    import structlog

    directory = tempfile.mkdtemp(prefix="poly-llm-gateway-metrics-")
    os.environ[variable] = directory
    structlog.get_logger("gateway.server").info("metrics.shared", workers=workers, directory=directory)
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_uvicorn(loaded: LoadedConfig) -> None:
    import uvicorn

    from app.server import gateway_protocol
    from app.workers import BALANCES, serve_workers

    server = loaded.config.server
    options: dict[str, Any] = dict(
        host=server.host,
        port=server.port,
        workers=server.workers,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http=gateway_protocol(server),  # httptools, one send() per loop pass, client limits
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        # Nothing here reads the client address or scheme that X-Forwarded-* would rewrite: skip
        # the middleware that parses them on every request.
        proxy_headers=False,
        timeout_graceful_shutdown=server.shutdown_grace_seconds,
    )
    if server.workers > 1 and BALANCES:  # a listener per worker: the kernel spreads connections
        serve_workers(uvicorn.Config("app.asgi:from_env", factory=True, **options))
        return
    uvicorn.run("app.asgi:from_env", factory=True, **options)


if __name__ == "__main__":
    main()
