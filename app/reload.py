"""Hot reload: serve one generation of the app at a time and swap it atomically.

A generation is a Litestar app built from one loaded config (its own container, providers,
HTTP pools and circuit breakers). On SIGHUP, or when the config file changes (polled), the file
is loaded and validated again: a valid config becomes a new generation that takes every new
request at once, while requests and streams in flight finish on the old one, whose lifespan
shutdown (closing its upstream pools) runs when the last of them ends. An invalid config is
refused with a logged error and the current generation keeps serving.

The config file and the ``.env`` file it was loaded with are read again, and either one
changing triggers a reload. A new generation rebuilds everything below the ``server`` section
(apps, routes, providers, their HTTP pools and breakers) and the ``server`` settings it uses
itself (``max_body_bytes``, ``http_client``); ``on_swap`` applies the ones that live outside it
(log level and format, the access-log layer's) and the watcher takes its new interval. The
other ``server`` settings belong to the running server (the socket, the worker processes, the
shutdown grace): a reload whose value differs from the one the server started with names it in
a ``config.restart_needed`` warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog

from app.status import Generation as GenerationInfo
from infrastructure.config.loader import ConfigError, LoadedConfig, load_config

log = structlog.get_logger("gateway.reload")

Build = Callable[[LoadedConfig], Any]
OnSwap = Callable[[LoadedConfig, LoadedConfig], None]
OnStop = Callable[[], Awaitable[None]]
OnReload = Callable[[bool], None]  # a reload was applied (True) or refused (False)

# ``server`` settings a reload applies; any other one changed takes a restart.
APPLIED_ON_RELOAD = frozenset(
    {"max_body_bytes", "http_client", "max_sse_line_bytes", "max_response_bytes", "log_level", "log_format",
     "access_log", "expose_routing_headers", "watch_config_seconds"}
)


class _Lifespan:
    """Drives an ASGI app's lifespan protocol (startup, then shutdown) from the outside."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        await self._app(scope, self._to_app.get, self._from_app.put)

    async def _step(self, kind: str) -> None:
        await self._to_app.put({"type": f"lifespan.{kind}"})
        message = await self._from_app.get()
        if message["type"] != f"lifespan.{kind}.complete":
            raise RuntimeError(message.get("message") or f"lifespan {kind} failed")

    async def startup(self) -> None:
        self._task = asyncio.create_task(self._run())
        await self._step("startup")

    async def shutdown(self) -> None:
        if self._task is None:
            return
        await self._step("shutdown")
        await self._task


class Generation:
    __slots__ = ("app", "drained", "inflight", "lifespan", "loaded", "retired")

    def __init__(self, app: Any, loaded: LoadedConfig) -> None:
        self.app = app
        self.loaded = loaded
        self.lifespan = _Lifespan(app)
        self.inflight = 0
        self.retired = False
        self.drained = asyncio.Event()


class ReloadingApp:
    """The ASGI app uvicorn serves: forwards each request to the current generation."""

    def __init__(
        self,
        loaded: LoadedConfig,
        build: Build,
        *,
        path: str | Path | None = None,
        on_swap: OnSwap | None = None,
        on_stop: OnStop | None = None,
        on_reload: OnReload | None = None,
    ) -> None:
        self._build = build
        self._on_swap = on_swap
        self._on_stop = on_stop  # after the last generation stopped (what outlives generations)
        self._on_reload = on_reload
        self._path = Path(path or loaded.source)
        self._env_file = Path(loaded.env_file) if loaded.env_file else None
        self._initial = loaded
        self._current: Generation | None = None
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        self._watch_interval = 0.0
        self._retiring: set[asyncio.Task[None]] = set()
        self.reloads = 0
        self.loaded_at = time.time()  # when the serving config was loaded

    def generation(self) -> GenerationInfo:
        """Which config generation serves now (the status page's)."""
        return GenerationInfo(self.reloads, self.loaded_at, str(self._path))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._serve_lifespan(receive, send)
            return
        generation = self._current
        if generation is None:  # a request before start-up completed (not with uvicorn)
            generation = self._current = Generation(self._build(self._initial), self._initial)
        generation.inflight += 1
        try:
            await generation.app(scope, receive, send)
        finally:
            generation.inflight -= 1
            if generation.retired and generation.inflight == 0:
                generation.drained.set()

    async def _serve_lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:  # noqa: BLE001 - reported to the server, which exits
                    log.error("app.start_failed", exc_info=exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        generation = Generation(self._build(self._initial), self._initial)
        await generation.lifespan.startup()
        self._current = generation
        loop = asyncio.get_running_loop()
        # No signals off the main thread.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload("SIGHUP")))
        self._watch_every(self._initial.config.server.watch_config_seconds)

    def _watch_every(self, interval: float) -> None:
        """(Re)start the file watch at ``interval`` seconds (0: none)."""
        if interval == self._watch_interval and self._watcher is not None:
            return
        if self._watcher is not None:
            self._watcher.cancel()  # it is waiting in its sleep, or it called this reload
            self._watcher = None
        self._watch_interval = interval
        if interval > 0:
            self._watcher = asyncio.create_task(self._watch(interval))

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        if self._current is not None:
            await self._current.lifespan.shutdown()
        if self._on_stop is not None:
            await self._on_stop()

    async def reload(self, reason: str = "request") -> bool:
        """Load the config file again and swap it in; False (and the old config) if invalid."""
        async with self._lock:
            try:
                loaded_at = time.time()
                loaded = load_config(self._path, env_file=self._env_file)
                generation = Generation(self._build(loaded), loaded)
                await generation.lifespan.startup()
            except ConfigError as exc:
                log.error("config.reload_refused", reason=reason, source=exc.source, problems=exc.problems)
                self._reloaded(False)
                return False
            except Exception as exc:  # noqa: BLE001 - keep serving the old config
                log.error("config.reload_refused", reason=reason, exc_info=exc)
                self._reloaded(False)
                return False
            old, self._current = self._current, generation
            self.reloads += 1
            self.loaded_at = loaded_at
            previous = old.loaded if old else self._initial
            _warn_restart_needed(self._initial, loaded)  # the values the server started with
            if self._on_swap is not None:
                self._on_swap(previous, loaded)
            log.info("config.reloaded", reason=reason, source=str(self._path), generation=self.reloads)
            self._reloaded(True)
            self._watch_every(loaded.config.server.watch_config_seconds)
            if old is not None:
                task = asyncio.create_task(self._retire(old))
                self._retiring.add(task)
                task.add_done_callback(self._retiring.discard)
            return True

    def _reloaded(self, applied: bool) -> None:
        if self._on_reload is not None:
            self._on_reload(applied)

    async def _retire(self, generation: Generation) -> None:
        generation.retired = True
        if generation.inflight:
            await generation.drained.wait()
        await generation.lifespan.shutdown()

    async def _watch(self, interval: float) -> None:
        files = [self._path] if self._env_file is None else [self._path, self._env_file]
        last = [_stamp(path) for path in files]
        while True:
            await asyncio.sleep(interval)
            stamps = [_stamp(path) for path in files]
            if stamps != last and stamps[0] is not None:  # a config file being replaced: next time
                last = stamps
                # Shielded: a reload that changes the interval cancels this task, not itself.
                await asyncio.shield(self.reload("file_changed"))


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _warn_restart_needed(running: LoadedConfig, new: LoadedConfig) -> None:
    """Every reload that asks for a setting only a restart applies says so, not just the first."""
    before, after = running.config.server, new.config.server
    changed = {
        f"server.{name}": [getattr(before, name), getattr(after, name)]
        for name in before.__struct_fields__
        if name not in APPLIED_ON_RELOAD and getattr(before, name) != getattr(after, name)
    }
    if changed:
        log.warning(
            "config.restart_needed",
            settings=list(changed),
            changes=changed,
            detail="these keep their old values until the gateway restarts",
        )
