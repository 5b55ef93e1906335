"""``strategy: cheapest`` and ``strategy: fastest`` through the OpenAI SDK, on two fake upstreams
(one per provider). Which target served is read from ``x-gateway-provider``.

The fastest test uses real delays, kept short and far apart (a slow target 0.4 s and more, a
quick one answering at once) so that a loaded machine cannot swap their order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from tests.e2e.launcher import GatewayProcess, launch
from tests.fakes.upstream import FakeUpstream, Stall, error

HELLO = [{"role": "user", "content": "Hello!"}]
SLOW = 0.4  # seconds


def config(a: str, b: str) -> str:
    settings = """
    timeouts: {connect: 2, first_byte: 5, idle: 5, total: 10}
    retries: {attempts: 1}
    circuit_breaker: {enabled: false}"""
    return f"""
server: {{log_level: info, log_format: json}}
apps:
  - {{name: oa, frontdoor: openai, path: /openai}}
providers:
  - name: pa
    type: openai
    api_key: sk-pa-key
    base_url: {a}/v1{settings}
  - name: pb
    type: openai
    api_key: sk-pb-key
    base_url: {b}/v1{settings}
routing:
  rules:
    - model_prefix: cheap-
      strategy: cheapest
      targets: [{{provider: pa, model: dear-model}}, {{provider: pb, model: cheap-model}}]
    - model_prefix: fast-
      strategy: fastest
      targets: [{{provider: pa, model: fast-a}}, {{provider: pb, model: fast-b}}]
pricing:
  - {{model: dear-model, input_per_mtok: 1.0, output_per_mtok: 4.0}}
  - {{model: cheap-model, input_per_mtok: 0.1, output_per_mtok: 0.4}}
"""


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[FakeUpstream, FakeUpstream]]:
    a, b = FakeUpstream().start_in_thread(), FakeUpstream().start_in_thread()
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture(scope="module")
def gateway(
    upstreams: tuple[FakeUpstream, FakeUpstream], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    a, b = upstreams
    with launch(config(a.url, b.url), tmp_path_factory.mktemp("cost-routing")) as gateway:
        yield gateway


@pytest.fixture(autouse=True)
def _fresh(upstreams: tuple[FakeUpstream, FakeUpstream]) -> None:
    for upstream in upstreams:
        upstream.reset()


def served_by(gateway: GatewayProcess, model: str, n: int) -> list[tuple[str, str]]:
    """(provider, failover header) of each of ``n`` requests, in order."""
    client = gateway.openai()
    served = []
    for _ in range(n):
        raw = client.chat.completions.with_raw_response.create(model=model, messages=HELLO)
        served.append((raw.headers["x-gateway-provider"], raw.headers["x-gateway-failover"]))
    return served


def test_cheapest_sends_everything_to_the_cheaper_target_then_fails_over_to_the_dearer(
    gateway: GatewayProcess, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    a, b = upstreams
    assert served_by(gateway, "cheap-x", 10) == [("pb", "false")] * 10
    assert [r.json["model"] for r in b.requests] == ["cheap-model"] * 10 and a.requests == []
    b.default = error(500)
    assert served_by(gateway, "cheap-x", 3) == [("pa", "true")] * 3  # the next cheapest
    assert [r.json["model"] for r in a.requests] == ["dear-model"] * 3
    b.default = None
    assert served_by(gateway, "cheap-x", 2) == [("pb", "false")] * 2  # healthy again: back to it


def test_fastest_moves_traffic_away_from_a_target_that_slows_down(
    gateway: GatewayProcess, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    a, b = upstreams
    a.default = Stall(SLOW)
    first = Counter(p for p, _ in served_by(gateway, "fast-x", 20))
    assert first["pb"] >= 15  # each measured once, then pb (5 % of requests explore pa)
    a.default, b.default = None, Stall(SLOW * 1.5)
    # pb's average climbs past pa's within a few slow answers; then pa takes the traffic
    later = Counter(p for p, _ in served_by(gateway, "fast-x", 20)[-12:])
    assert later["pa"] >= 9
