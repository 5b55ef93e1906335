"""What the benchmark runs: the scenarios, their request bodies, and the gateway's config.

A scenario is named ``<client protocol>-<provider protocol>[-stream]`` (``openai-anthropic``: an
OpenAI SDK client served by an Anthropic provider; ``responses-openai``: a Responses API client
served by a Chat Completions provider), or ``direct-<protocol>[-stream]`` for the floor: the
same request straight to nginx. Each gateway scenario names its floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec

PROTOCOLS = ("openai", "anthropic")  # upstream protocols, and frontdoors
CLIENTS = (*PROTOCOLS, "responses")  # the Responses API is served by the openai frontdoor
# provider name in the bench config -> (type, base path on nginx)
_PROVIDERS = {
    "oa": ("openai", "/json/v1"),
    "oas": ("openai", "/sse/v1"),
    "an": ("anthropic", "/json"),
    "ans": ("anthropic", "/sse"),
}
_UPSTREAM_PATH = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}
_FRONTDOOR_PATH = {
    "openai": "/openai/v1/chat/completions",
    "anthropic": "/anthropic/v1/messages",
    "responses": "/openai/v1/responses",
}
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}
# The gateway key every load generator sends (issue 15's config: a key with rpm/tpm limits,
# high enough never to refuse during a run; in-process state; /metrics on; tracing off).
BENCH_KEY = "sk-bench-0123456789abcdef0123456789abcdef"
BENCH_LIMITS = {"rpm": 1_000_000_000, "tpm": 1_000_000_000_000}


def key_headers(client: str) -> dict[str, str]:
    """Where each protocol's SDK sends the key: ``x-api-key`` for Anthropic's, Bearer otherwise."""
    return {"x-api-key": BENCH_KEY} if client == "anthropic" else {"authorization": f"Bearer {BENCH_KEY}"}


def request_body(client: str, model: str, stream: bool, *, usage: bool = False) -> bytes:
    """A small, typical chat request in the ``client`` protocol (``usage``: OpenAI streams ask
    for the usage chunk)."""
    system = "You are a concise assistant. Answer in one short paragraph."
    question = "Say hello, then count from one to five in words."
    if client == "responses":  # store left at its default (true): each turn is kept
        body: dict[str, object] = {
            "model": model,
            "instructions": system,
            "input": question,
            "max_output_tokens": 256,
            "temperature": 0.7,
        }
    elif client == "openai":
        body = {
            "model": model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": question}],
            "max_completion_tokens": 256,
            "temperature": 0.7,
        }
    else:
        body = {
            "model": model,
            "max_tokens": 256,
            "system": system,
            "messages": [{"role": "user", "content": [{"type": "text", "text": question}]}],
            "temperature": 0.7,
        }
    if stream:
        body["stream"] = True
        if usage and client == "openai":
            body["stream_options"] = {"include_usage": True}
    return msgspec.json.encode(body)


@dataclass(frozen=True)
class Scenario:
    name: str
    client: str  # protocol the load generator speaks
    provider: str  # protocol of the upstream answering
    stream: bool
    direct: bool  # True: straight to nginx (the floor)
    method: str = "POST"  # GET: the gateway's /healthz, the cost of the server and framework alone
    route: str = ""  # another server's path for the same request (the LiteLLM comparison)
    close: bool = False  # a new connection per request (wrk reconnects after "connection: close")

    @property
    def floor(self) -> str:
        return "" if self.method == "GET" else f"direct-{self.provider}" + ("-stream" if self.stream else "")

    @property
    def provider_name(self) -> str:
        return ("oa" if self.provider == "openai" else "an") + ("s" if self.stream else "")

    @property
    def path(self) -> str:
        if self.route:
            return self.route
        if self.method == "GET":
            return "/healthz"
        if self.direct:
            return ("/sse" if self.stream else "/json") + _UPSTREAM_PATH[self.provider]
        return _FRONTDOOR_PATH[self.client]

    @property
    def body(self) -> bytes:
        if self.method == "GET":
            return b""
        return request_body(self.client, f"{self.provider_name}/bench-model", self.stream)

    @property
    def headers(self) -> dict[str, str]:
        base = {"connection": "close"} if self.close else {}
        if self.method == "GET":
            return base
        base["content-type"] = "application/json"
        base |= key_headers(self.client)  # the floors get it too: the same bytes on the wire
        return base | ANTHROPIC_HEADERS if self.client == "anthropic" else base


def all_scenarios() -> list[Scenario]:
    found = [
        Scenario(f"direct-{p}" + ("-stream" if s else ""), p, p, s, True)
        for p in PROTOCOLS
        for s in (False, True)
    ]
    for client in CLIENTS:
        for provider in PROTOCOLS:
            for stream in (False, True):
                name = f"{client}-{provider}" + ("-stream" if stream else "")
                found.append(Scenario(name, client, provider, stream, False))
    found.append(Scenario("healthz", "openai", "none", False, False, method="GET"))
    return found


def gateway_config(
    path: Path,
    *,
    port: int,
    upstream_port: int,
    slow_port: int | None,
    http_client: str,
    max_connections: int,
    access_log: bool = True,
    keys: bool = True,
) -> Path:
    """Write the gateway config the bench runs: both frontdoors, one provider per fake body,
    routed by ``<provider>/<model>`` prefixes; access log on, as in production;
    ``max_connections`` client connections, and as many upstream ones per provider. ``keys``:
    the frontdoors take only ``BENCH_KEY``, limited to ``BENCH_LIMITS`` (state in the process,
    the default; tracing off, the default; /metrics is always on)."""
    providers = [
        {
            "name": name,
            "type": kind,
            "api_key": "bench-not-a-key",
            "base_url": f"http://127.0.0.1:{upstream_port}{base}",
            "max_connections": max_connections,
        }
        for name, (kind, base) in _PROVIDERS.items()
    ]
    if slow_port is not None:
        providers.append(
            {
                "name": "slow",
                "type": "openai",
                "api_key": "bench-not-a-key",
                "base_url": f"http://127.0.0.1:{slow_port}/v1",
                "max_connections": max_connections,
            }
        )
    prefixes = {p["name"]: p["name"] for p in providers}
    config = {
        "server": {
            "host": "127.0.0.1",
            "port": port,
            "workers": 1,
            "http_client": http_client,
            "log_level": "info",
            "access_log": access_log,
            "shutdown_grace_seconds": 2,
            "max_client_connections": max_connections,
        },
        "apps": [
            {
                "name": f"bench-{p}",
                "frontdoor": p,
                "path": f"/{p}",
                "model_routing": {"prefix_providers": prefixes},
            }
            for p in PROTOCOLS
        ],
        "providers": providers,
    }
    if keys:
        config["auth"] = {"keys": [{"name": "bench", "key": BENCH_KEY, "limits": BENCH_LIMITS}]}
    path.write_bytes(msgspec.json.encode(config))  # JSON is YAML
    return path
