"""What test_resilience.py runs against: the gateway's config (providers on a primary and a
backup fake upstream, routes with fallbacks, weighted targets, circuits) and an SDK helper that
returns the ``x-gateway-*`` headers with the text."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.e2e.conftest import free_port
from tests.e2e.launcher import GatewayProcess

HELLO = [{"role": "user", "content": "Hello!"}]
GREETING = "Hello from the fake upstream!"
COOLDOWN = 1.0  # the circuit cool-down of provider "flaky"

# Small timeouts and quick retries: a stall costs first_byte (0.5 s) per attempt.
FAST = """
    timeouts: {{connect: 1, first_byte: 0.5, idle: 0.5, total: 10}}
    retries: {{attempts: {attempts}, backoff_base: 0.01, backoff_cap: 0.05, retry_after_cap: 2}}
    circuit_breaker: {breaker}"""
OFF = "{enabled: false}"  # the fault tests pin attempts to outcomes: no circuit may open there

REWRITE = """
    model_routing:
      rewrites:
        - model_exact: aliased
          provider: main
          model: gpt-5-mini
          rewrite_response_model: true
          fallbacks: [{provider: spare}]"""

ROUTING = """
routing:
  rules:
    - {model_prefix: gpt-, provider: main, fallbacks: [{provider: spare}]}
    - {model_prefix: claude-, provider: claude_main, fallbacks: [{provider: claude_spare}]}
    - {model_prefix: cross-, provider: main, fallbacks: [{provider: claude_spare, model: claude-fallback}]}
    - {model_prefix: dead-, provider: dead, fallbacks: [{provider: spare, model: gpt-4o-mini}]}
    - {model_prefix: flaky-, provider: flaky, fallbacks: [{provider: spare}]}
    - {model_prefix: lonely-, provider: lonely}
    - {model_prefix: solo-, provider: solo}
    - {model_prefix: split-, targets: [{provider: heavy, weight: 3}, {provider: light, weight: 1}]}
  default_provider: {provider: main, fallbacks: [{provider: spare}]}
"""


def provider(name: str, kind: str, url: str, *, attempts: int = 2, breaker: str = OFF) -> str:
    base = f"{url}/v1" if kind == "openai" else url
    settings = FAST.format(attempts=attempts, breaker=breaker)
    return f"\n  - name: {name}\n    type: {kind}\n    api_key: sk-{name}\n    base_url: {base}{settings}"


def resilience_config(primary: str, backup: str, http_client: str) -> str:
    """Providers ``main``/``claude_main`` (primary fake) fall back to ``spare``/``claude_spare``
    (backup fake); ``dead`` refuses connections; ``flaky`` (opens after 3 failed requests in a
    row, 1 s cool-down), ``heavy`` (weight 3, opens after 2) with ``light`` (weight 1),
    ``lonely`` (no fallback, opens after 1, ``fail_fast``) and ``solo`` (no fallback, the default
    breaker) exercise the circuits and the weighted pool."""
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connections are refused
    providers = "".join(
        (
            provider("main", "openai", primary),
            provider("claude_main", "anthropic", primary),
            provider("spare", "openai", backup),
            provider("claude_spare", "anthropic", backup),
            provider("dead", "openai", dead),
            provider("flaky", "openai", primary, attempts=1, breaker=f"{{consecutive_failures: 3, cooldown: {COOLDOWN}}}"),
            provider("heavy", "openai", primary, attempts=1,
                     breaker="{consecutive_failures: 2, cooldown: 600, max_cooldown: 600}"),
            provider("light", "openai", backup),
            provider("lonely", "openai", primary, attempts=1,
                     breaker="{consecutive_failures: 1, cooldown: 600, max_cooldown: 600, fail_fast: true}"),
            provider("solo", "openai", primary, breaker="{}"),
        )
    )
    return f"""
server: {{http_client: {http_client}, log_level: info, watch_config_seconds: 0}}
apps:
  - name: oa
    frontdoor: openai
    path: /openai{REWRITE}
  - name: an
    frontdoor: anthropic
    path: /anthropic{REWRITE}
providers:{providers}{ROUTING}"""


@dataclass
class Served:
    headers: httpx.Headers
    text: str

    @property
    def provider(self) -> str:
        return self.headers["x-gateway-provider"]

    @property
    def failover(self) -> bool:
        return {"true": True, "false": False}[self.headers["x-gateway-failover"]]

    @property
    def request_id(self) -> str:
        return self.headers["x-request-id"]


def ask(gateway: GatewayProcess, sdk: str, model: str, *, stream: bool = False) -> Served:
    """One chat request through an official SDK; the response headers and the text."""
    if sdk == "openai":
        completions = gateway.openai().chat.completions.with_raw_response
        raw = completions.create(model=model, messages=HELLO, stream=stream)
        if stream:
            text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
        else:
            text = raw.parse().choices[0].message.content or ""
    else:
        messages = gateway.anthropic().messages.with_raw_response
        raw = messages.create(model=model, max_tokens=64, messages=HELLO, stream=stream)
        if stream:
            deltas = (e.delta for e in raw.parse() if e.type == "content_block_delta")
            text = "".join(d.text for d in deltas if d.type == "text_delta")
        else:
            text = "".join(b.text for b in raw.parse().content if b.type == "text")
    return Served(raw.headers, text)


def attempts(gateway: GatewayProcess, served: Served) -> list[tuple[str, str]]:
    """(provider, result) of every attempt, from the request's access-log line."""
    line = gateway.access_log(served.request_id)
    return [(a["provider"], a["result"]) for a in line["attempts"]]
