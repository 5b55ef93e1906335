"""The config file's schema: strict msgspec structs (a typo fails start-up with its key path).

The format is the seed design's ``config.yaml`` (server, apps, providers, routing) plus what a
real deployment needs: timeouts, extra headers, the outbound HTTP client, body limits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union, cast

import msgspec

from adapters.inbound import FRONTDOORS
from adapters.outbound import PROVIDER_KINDS
from adapters.outbound.kind import ProviderKind


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pass


class ServerConfig(_Strict, frozen=True):
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
    # json: one JSON object per line; console: aligned, coloured text for a person reading a
    # terminal; auto: console when the log's stream is a terminal, else json.
    log_format: Literal["auto", "json", "console"] = "auto"
    access_log: bool = True
    # x-gateway-provider / -model / -failover on responses (off: an alias does not reveal
    # which upstream model served it).
    expose_routing_headers: bool = True
    # Seconds in-flight requests get to finish after SIGTERM.
    shutdown_grace_seconds: float = 30.0
    # Poll the config file this often and reload it when it changes (0: only on SIGHUP).
    watch_config_seconds: float = 2.0
    # What one client connection may send and hold (README, Limits).
    max_header_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024  # request line + headers: else 431
    max_header_fields: Annotated[int, msgspec.Meta(ge=1)] = 100  # else 431
    header_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 10.0  # to send a whole request head
    body_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 60.0  # a request body sending nothing
    max_client_connections: Annotated[int, msgspec.Meta(ge=1)] = 4096  # per worker; beyond: 503


class TargetConfig(_Strict, frozen=True):
    """One member of a weighted pool (A/B and cost routing)."""

    provider: str
    model: str | None = None  # absent: the route's model
    weight: float = 1.0


class FallbackConfig(_Strict, frozen=True):
    provider: str
    model: str | None = None  # absent: what the first target asks for


class RouteTargetConfig(_Strict, frozen=True):
    """A destination: a single ``provider`` (+ ``model``) or a weighted pool of ``targets``,
    plus ``fallbacks`` tried in order when they fail."""

    provider: str | None = None
    model: str | None = None
    targets: list[TargetConfig] = []
    # How the pool picks its first target: by weight (the default), the cheapest by the price
    # table, or the one with the lowest recent latency.
    strategy: Literal["weighted", "cheapest", "fastest"] = "weighted"
    fallbacks: list[FallbackConfig] = []


class RewriteConfig(RouteTargetConfig, frozen=True, kw_only=True):
    model_exact: str | None = None
    model_prefix: str | None = None
    rewrite_response_model: bool = False


class ModelRoutingConfig(_Strict, frozen=True):
    prefix_providers: dict[str, str] = {}
    rewrites: list[RewriteConfig] = []


if TYPE_CHECKING:
    FrontdoorName = str
else:  # the registry's names, so that an unknown one is refused with the list of known ones
    FrontdoorName = Literal[tuple(FRONTDOORS)]


class AppConfig(_Strict, frozen=True):
    name: str
    frontdoor: FrontdoorName  # a key of FRONTDOORS
    path: str
    model_routing: ModelRoutingConfig = ModelRoutingConfig()
    # Seeds this app's /v1/models listing, in its protocol's shape (free-form fields).
    models: list[dict[str, Any]] = []


class TimeoutsConfig(_Strict, frozen=True):
    """Seconds."""

    connect: float = 10.0  # TCP/TLS connect, or a free pooled connection
    first_byte: float = 300.0  # until a stream's first event arrives
    idle: float = 60.0  # between two events of a stream
    total: float = 600.0  # a whole non-streaming request (and a count_tokens call)
    stream_max: Annotated[float, msgspec.Meta(gt=0)] | None = None  # a whole stream; None: no bound


class RetriesConfig(_Strict, frozen=True):
    attempts: int = 2  # per target, the first one included; 1 disables retries
    backoff_base: float = 0.25  # seconds; doubles each attempt, full jitter
    backoff_cap: float = 4.0
    retry_after_cap: float = 10.0  # a longer upstream Retry-After fails over instead of waiting


class CircuitBreakerConfig(_Strict, frozen=True):
    """Per deployment (provider, upstream model); each client request counts once."""

    enabled: bool = True  # false: never open (failure ratios still show in /status)
    window: float = 30.0  # seconds the failure ratio is taken over
    min_requests: int = 10  # requests the window must hold before the ratio can open it
    failure_ratio: float = 0.5  # failed share of the window's requests that opens it
    consecutive_failures: int = 5  # failed requests in a row that open it at any volume; 0: off
    cooldown: float = 30.0  # seconds open after a first trip (an upstream Retry-After wins)
    max_cooldown: float = 300.0  # repeated trips double the cool-down up to this
    fail_fast: bool = False  # every target of a route open: refuse (503/529) instead of probing

    # Retired keys, refused with what to write instead (see config/structure.py).
    retired_keys: ClassVar[dict[str, str]] = {
        "failures": "no longer used (circuits now open on a failure rate per model); write "
        "'enabled: false' to turn the breaker off, or 'consecutive_failures: N' to open it after "
        "N failed requests in a row",
    }

    def problems(self, where: str) -> list[str]:
        """What is wrong with these settings, each problem with its key path."""
        found = []
        if self.window <= 0 or self.cooldown <= 0:
            found.append(f"{where}: window and cooldown must be positive")
        if self.max_cooldown < self.cooldown:
            found.append(f"{where}.max_cooldown: must be at least cooldown ({self.cooldown:g})")
        if self.min_requests < 1 or self.consecutive_failures < 0:
            found.append(f"{where}: min_requests must be at least 1 and consecutive_failures not negative")
        if not 0 < self.failure_ratio <= 1:
            found.append(f"{where}.failure_ratio: must be above 0 and at most 1")
        return found


class ProviderConfig(_Strict, frozen=True, tag_field="type"):
    """The keys of every provider entry. ``type`` names its kind (a key of ``PROVIDER_KINDS``),
    and each kind adds its own keys (``PROVIDER_CONFIGS``)."""

    name: str
    api_key: str | None = None
    base_url: str | None = None
    headers: dict[str, str] = {}
    timeouts: TimeoutsConfig = TimeoutsConfig()
    retries: RetriesConfig = RetriesConfig()
    circuit_breaker: CircuitBreakerConfig = CircuitBreakerConfig()
    max_connections: int = 1000
    # For targets that require max_tokens (Anthropic) when an OpenAI client omits it.
    default_max_tokens: int = 4096

    @property
    def type(self) -> str:
        """The provider's kind."""
        return str(self.__struct_config__.tag)


def _kind_config(name: str, kind: ProviderKind[Any]) -> type[ProviderConfig]:
    """The config struct of one kind: the common keys plus the kind's own (its settings' fields
    beyond ``ProviderSettings``, with their types and defaults)."""
    own: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for key in kind.own_keys():
        if key.default_factory is not msgspec.NODEFAULT:
            own.append((key.name, key.type, msgspec.field(default_factory=key.default_factory)))
        elif key.default is not msgspec.NODEFAULT:
            own.append((key.name, key.type, key.default))
        else:
            own.append((key.name, key.type))
    config = msgspec.defstruct(
        f"{name.title()}ProviderConfig", own, bases=(ProviderConfig,), tag=name, module=__name__
    )
    return cast(type[ProviderConfig], config)


PROVIDER_CONFIGS: dict[str, type[ProviderConfig]] = {
    name: _kind_config(name, kind) for name, kind in PROVIDER_KINDS.items()
}
if TYPE_CHECKING:
    AnyProviderConfig = ProviderConfig
else:  # a provider entry is decoded as the config of the kind its ``type`` names
    AnyProviderConfig = Union[tuple(PROVIDER_CONFIGS.values())]  # noqa: UP007 - built at run time


class RuleConfig(RouteTargetConfig, frozen=True, kw_only=True):
    model_prefix: str


class RoutingConfig(_Strict, frozen=True):
    rules: list[RuleConfig] = []
    # A provider name, or a destination ({provider | targets, fallbacks}).
    default_provider: str | RouteTargetConfig | None = None


class KeyLimitsConfig(_Strict, frozen=True):
    """Per gateway key; each absent one is no limit."""

    rpm: Annotated[int, msgspec.Meta(ge=1)] | None = None  # requests in a sliding minute
    tpm: Annotated[int, msgspec.Meta(ge=1)] | None = None  # input + output tokens in a sliding minute
    concurrent: Annotated[int, msgspec.Meta(ge=1)] | None = None  # requests in flight at once


class BudgetConfig(_Strict, frozen=True):
    usd: Annotated[float, msgspec.Meta(ge=0)]
    period: Literal["day", "week", "month", "total"] = "month"  # UTC calendar


class GatewayKeyConfig(_Strict, frozen=True):
    """A key clients send to the gateway (never an upstream's key)."""

    name: str  # shown in logs, metrics and usage; the key itself never is
    key: str | None = None  # the key, or
    key_sha256: str | None = None  # its SHA-256 digest, 64 hex digits
    apps: list[str] | None = None  # the apps it may use; None: all
    models: list[str] | None = None  # globs on the requested model name; None: all
    limits: KeyLimitsConfig = KeyLimitsConfig()
    budget: BudgetConfig | None = None


class AuthConfig(_Strict, frozen=True):
    keys: list[GatewayKeyConfig] = []  # empty: the frontdoors are open (a warning off loopback)
    admin_keys: list[str] = []  # Bearer keys for /admin/*, /metrics and /status


class StateConfig(_Strict, frozen=True):
    """Where counters, spend and stored conversations live."""

    redis_url: str = ""  # empty: in this process (spend also in a local file)
    on_unavailable: Literal["allow", "deny"] = "allow"  # Redis down: limits in-process, or refuse
    # Stored Responses API turns (previous_response_id, GET /v1/responses/{id}): how long each is
    # kept, and (in this process, without redis_url) how many bytes they may hold in all.
    conversation_ttl_seconds: Annotated[float, msgspec.Meta(gt=0)] = 30 * 24 * 3600.0
    conversation_max_bytes: Annotated[int, msgspec.Meta(ge=0)] = 64 * 1024 * 1024
    key_prefix: str = "gateway:"  # of every Redis key the gateway writes (several gateways, one Redis)


class PriceConfig(_Strict, frozen=True):
    """An addition to, or override of, the bundled price table (USD per million tokens)."""

    model: str
    input_per_mtok: Annotated[float, msgspec.Meta(ge=0)]
    output_per_mtok: Annotated[float, msgspec.Meta(ge=0)]
    provider: str | None = None  # None: every provider that serves ``model``
    cache_read_per_mtok: Annotated[float, msgspec.Meta(ge=0)] | None = None  # None: input's rate
    cache_write_per_mtok: Annotated[float, msgspec.Meta(ge=0)] | None = None  # None: input's rate


class TelemetryConfig(_Strict, frozen=True):
    """Metrics are always on at /metrics; traces are off unless an endpoint is set here or in
    the standard OTEL_* environment variables (which win)."""

    otlp_endpoint: str = ""  # e.g. http://127.0.0.1:4318; empty: OTEL_EXPORTER_OTLP_ENDPOINT or off
    service_name: str = "poly-llm-gateway"
    sample_ratio: Annotated[float, msgspec.Meta(ge=0, le=1)] = 1.0


class GatewayConfig(_Strict, frozen=True):
    server: ServerConfig = ServerConfig()
    apps: list[AppConfig] = []
    providers: list[AnyProviderConfig] = []
    routing: RoutingConfig = RoutingConfig()
    auth: AuthConfig = AuthConfig()
    state: StateConfig = StateConfig()
    pricing: list[PriceConfig] = []
    telemetry: TelemetryConfig = TelemetryConfig()

