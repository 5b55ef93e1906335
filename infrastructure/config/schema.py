"""The config file's schema: strict msgspec structs (a typo fails start-up with its key path).

The format is the seed design's ``config.yaml`` (server, apps, providers, routing) plus what a
real deployment needs: timeouts, extra headers, the outbound HTTP client, body limits.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pass


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    # Largest request body accepted (base64 images make bodies large; Anthropic allows 32 MB).
    max_body_bytes: int = 32 * 1024 * 1024
    # Outbound HTTP client behind the provider port; httpx honours HTTPS_PROXY / NO_PROXY.
    http_client: Literal["httptools", "httpx"] = "httptools"
    # What an upstream may send: one line of a stream, and a whole (non-streaming) body after
    # decompression. Beyond them the request fails with a 502 that names the limit.
    max_sse_line_bytes: Annotated[int, msgspec.Meta(gt=0)] = 16 * 1024 * 1024
    max_response_bytes: Annotated[int, msgspec.Meta(gt=0)] = 64 * 1024 * 1024
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True
    # Seconds in-flight requests get to finish after SIGTERM.
    shutdown_grace_seconds: float = 30.0
    # Poll the config file this often and reload it when it changes (0: only on SIGHUP).
    watch_config_seconds: float = 2.0


class TargetConfig(_Strict):
    """One member of a weighted pool (A/B and cost routing)."""

    provider: str
    model: str | None = None  # absent: the route's model
    weight: float = 1.0


class FallbackConfig(_Strict):
    provider: str
    model: str | None = None  # absent: what the first target asks for


class RouteTargetConfig(_Strict):
    """A destination: a single ``provider`` (+ ``model``) or a weighted pool of ``targets``,
    plus ``fallbacks`` tried in order when they fail."""

    provider: str | None = None
    model: str | None = None
    targets: list[TargetConfig] = []
    fallbacks: list[FallbackConfig] = []


class RewriteConfig(RouteTargetConfig, kw_only=True):
    model_exact: str | None = None
    model_prefix: str | None = None
    rewrite_response_model: bool = False


class ModelRoutingConfig(_Strict):
    prefix_providers: dict[str, str] = {}
    rewrites: list[RewriteConfig] = []


class AppConfig(_Strict):
    name: str
    frontdoor: Literal["openai", "anthropic"]
    path: str
    model_routing: ModelRoutingConfig = ModelRoutingConfig()
    # Seeds this app's /v1/models listing, in its protocol's shape (free-form fields).
    models: list[dict[str, Any]] = []


class TimeoutsConfig(_Strict):
    """Seconds."""

    connect: float = 10.0  # TCP/TLS connect, or a free pooled connection
    first_byte: float = 300.0  # until a stream's first event arrives
    idle: float = 60.0  # between two events of a stream
    total: float = 600.0  # a whole non-streaming request (and a count_tokens call)
    stream_max: Annotated[float, msgspec.Meta(gt=0)] | None = None  # a whole stream; None: no bound


class RetriesConfig(_Strict):
    attempts: int = 2  # per target, the first one included; 1 disables retries
    backoff_base: float = 0.25  # seconds; doubles each attempt, full jitter
    backoff_cap: float = 4.0
    retry_after_cap: float = 10.0  # a longer upstream Retry-After fails over instead of waiting


class CircuitBreakerConfig(_Strict):
    failures: int = 5  # consecutive failures that open the circuit; 0 disables it
    cooldown: float = 30.0  # seconds open before one probe request is let through


class ProviderConfig(_Strict):
    name: str
    type: Literal["openai", "anthropic"]
    api_key: str | None = None
    base_url: str | None = None
    headers: dict[str, str] = {}
    timeouts: TimeoutsConfig = TimeoutsConfig()
    retries: RetriesConfig = RetriesConfig()
    circuit_breaker: CircuitBreakerConfig = CircuitBreakerConfig()
    max_connections: int = 1000
    # For targets that require max_tokens (Anthropic) when an OpenAI client omits it.
    default_max_tokens: int = 4096
    # OpenAI type only: the request field carrying the output limit.
    max_tokens_field: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"
    # Anthropic type only: sent when the client sent no anthropic-version of its own.
    anthropic_version: str = "2023-06-01"


class RuleConfig(RouteTargetConfig, kw_only=True):
    model_prefix: str


class RoutingConfig(_Strict):
    rules: list[RuleConfig] = []
    # A provider name, or a destination ({provider | targets, fallbacks}).
    default_provider: str | RouteTargetConfig | None = None


class GatewayConfig(_Strict):
    server: ServerConfig = ServerConfig()
    apps: list[AppConfig] = []
    providers: list[ProviderConfig] = []
    routing: RoutingConfig = RoutingConfig()


DEFAULT_BASE_URLS = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}
