"""``python -m app --config FILE [--host H] [--port P] [--workers N]``: run the gateway."""

from __future__ import annotations

import argparse
import os
import sys

from infrastructure.config.loader import ConfigError, load_config


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="poly-llm-gateway", description="Run the LLM gateway.")
    parser.add_argument("--config", default=os.environ.get("GATEWAY_CONFIG", "config.yaml"),
                        help="config file (env GATEWAY_CONFIG; default config.yaml)")
    parser.add_argument("--host", default=os.environ.get("GATEWAY_HOST"),
                        help="listen address (env GATEWAY_HOST; default server.host)")
    parser.add_argument("--port", type=int, default=_int_env("GATEWAY_PORT"),
                        help="listen port (env GATEWAY_PORT; default server.port)")
    parser.add_argument("--workers", type=int, default=_int_env("GATEWAY_WORKERS"),
                        help="worker processes (env GATEWAY_WORKERS; default server.workers)")
    parser.add_argument("--log-level", default=os.environ.get("GATEWAY_LOG_LEVEL"),
                        choices=["debug", "info", "warning", "error"], help="default server.log_level")
    return parser.parse_args(argv)


def _int_env(name: str) -> int | None:
    value = os.environ.get(name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        sys.exit(f"{name} must be an integer, got {value!r}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        loaded = load_config(args.config)  # validate here: a bad config exits before uvicorn starts
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
    server = loaded.config.server
    # Workers re-load the config through the factory; hand them the same file and level.
    os.environ["GATEWAY_CONFIG"] = os.path.abspath(args.config)
    if args.log_level:
        os.environ["GATEWAY_LOG_LEVEL"] = args.log_level

    import signal

    import uvicorn

    from app.server import gateway_protocol
    from infrastructure.logging import configure_logging

    configure_logging(args.log_level or server.log_level)
    # uvicorn drains on SIGTERM, then re-raises the signal it caught: without a handler of ours
    # the default action would end a clean shutdown with status 143.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        "app.asgi:from_env",
        factory=True,
        host=args.host or server.host,
        port=args.port or server.port,
        workers=args.workers or server.workers,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http=gateway_protocol(server),  # httptools, one send() per loop pass, client limits
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        # Nothing here reads the client address or scheme that X-Forwarded-* would rewrite: skip
        # the middleware that parses them on every request.
        proxy_headers=False,
        timeout_graceful_shutdown=server.shutdown_grace_seconds,  # type: ignore[arg-type]
    )


if __name__ == "__main__":
    main()
