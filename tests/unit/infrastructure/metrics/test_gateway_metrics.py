"""The metrics a request's record feeds, read back from the text format."""

from __future__ import annotations

from domain.circuits import Breakers, BreakerSettings
from domain.errors import ErrorKind, GatewayError
from domain.request_record import RequestRecord
from infrastructure.config.loader import parse_config
from infrastructure.metrics import GatewayMetrics
from tests.metrics_text import label_values, parse, value

CONFIG = """
apps:
  - name: oa
    frontdoor: openai
    path: /openai
    model_routing:
      rewrites:
        - {model_exact: fast, provider: p1, model: gpt-5-mini}
    models: [{id: listed-model}]
providers:
  - {name: p1, type: openai, api_key: k}
  - {name: p2, type: anthropic, api_key: k}
routing:
  rules:
    - model_prefix: claude
      targets: [{provider: p2, model: claude-sonnet-4-5}]
      fallbacks: [{provider: p1, model: gpt-5}]
auth:
  keys: [{name: team-a, key: secret-a}]
"""


def metrics() -> GatewayMetrics:
    m = GatewayMetrics()
    m.configure(parse_config(CONFIG, source="test", env={}).config)
    return m


def record(**fields: object) -> RequestRecord:
    r = RequestRecord(app="oa", frontdoor="openai")
    for name, v in fields.items():
        setattr(r, name, v)
    return r


def test_the_config_names_every_model_a_label_may_take() -> None:
    assert metrics().models == {"fast", "gpt-5-mini", "listed-model", "claude-sonnet-4-5", "gpt-5"}


def test_a_served_request_feeds_requests_duration_attempts_overhead_and_tokens() -> None:
    m = metrics()
    r = record(model="fast", provider="p1", upstream_model="gpt-5-mini", upstream_protocol="openai",
               input_tokens=12, output_tokens=5, cache_read_tokens=2, upstream_wait=0.25)
    r.attempts.append({"provider": "p1", "model": "gpt-5-mini", "result": "ok", "ms": 250.0})
    m.observe(r, 200, 0.26, None)
    s = parse(m.exposition())
    labels = {"app": "oa", "frontdoor": "openai", "provider": "p1", "model": "gpt-5-mini"}
    assert value(s, "gateway_requests_total", status="200", **labels) == 1
    assert value(s, "gen_ai_server_request_duration_seconds_count", status_class="2xx", **labels) == 1
    assert value(s, "gen_ai_server_request_duration_seconds_sum", **labels) == 0.26
    assert value(s, "gateway_upstream_attempts_total", provider="p1", model="gpt-5-mini", result="ok") == 1
    overhead = value(s, "gateway_overhead_seconds_sum", frontdoor="openai", translated="false")
    assert abs(overhead - 0.01) < 1e-9
    for kind, count in (("input", 12), ("output", 5), ("cache_read", 2)):
        assert value(s, "gen_ai_client_token_usage_sum", gen_ai_token_type=kind, provider="p1") == count
    assert value(s, "gen_ai_client_token_usage_count", gen_ai_token_type="cache_write") == 0
    assert value(s, "gen_ai_server_time_to_first_token_seconds_count") == 0  # not a stream


def test_a_stream_feeds_time_to_first_token_and_time_per_output_token() -> None:
    m = metrics()
    r = record(model="claude-x", provider="p2", upstream_model="claude-sonnet-4-5", upstream_protocol="anthropic",
               stream=True, output_tokens=11)
    r.attempts.append({"provider": "p2", "model": "claude-sonnet-4-5", "result": "ok", "ms": 1.0})
    m.observe(r, 200, 2.5, 0.5)
    s = parse(m.exposition())
    assert value(s, "gen_ai_server_time_to_first_token_seconds_sum", app="oa", provider="p2",
                 model="claude-sonnet-4-5") == 0.5
    assert value(s, "gen_ai_server_time_per_output_token_seconds_sum", provider="p2") == 0.2  # 2 s / 10
    assert value(s, "gateway_overhead_seconds_count", frontdoor="openai", translated="true") == 1


def test_a_failover_after_a_retry_counts_each_attempt_and_one_failover() -> None:
    m = metrics()
    r = record(model="claude-x", provider="p1", upstream_model="gpt-5", upstream_protocol="openai", failed_over=True)
    r.attempts += [
        {"provider": "p2", "model": "claude-sonnet-4-5", "result": "overloaded", "ms": 1.0},
        {"provider": "p2", "model": "claude-sonnet-4-5", "result": "overloaded", "ms": 1.0},
        {"provider": "p1", "model": "gpt-5", "result": "ok", "ms": 1.0},
    ]
    m.observe(r, 200, 0.1, None)
    s = parse(m.exposition())
    assert value(s, "gateway_upstream_attempts_total", provider="p2", result="overloaded") == 2
    assert value(s, "gateway_upstream_attempts_total", provider="p1", result="ok") == 1
    assert value(s, "gateway_failovers_total", app="oa", from_provider="p2", to_provider="p1") == 1
    assert value(s, "gateway_failovers_total") == 1


def test_model_and_key_names_the_config_does_not_know_are_other() -> None:
    m = metrics()
    for index in range(50):
        r = record(model=f"made-up-{index}", provider="p1", upstream_model=f"made-up-{index}", key=f"k{index}",
                   cost_usd=0.5, rejected="rpm")
        r.attempts.append({"provider": "p1", "model": f"made-up-{index}", "result": "ok", "ms": 1.0})
        m.observe(r, 200, 0.1, None)
    s = parse(m.exposition())
    assert label_values(s, "gateway_requests_total", "model") == {"other"}
    assert label_values(s, "gateway_upstream_attempts_total", "model") == {"other"}
    assert label_values(s, "gateway_rejected_total", "key") == {"other"}
    assert value(s, "gateway_requests_total", model="other") == 50


def test_cost_and_rejections_are_read_from_the_record_when_set() -> None:
    m = metrics()
    m.observe(record(model="fast", provider="p1", upstream_model="gpt-5-mini", key="team-a", cost_usd=0.25), 200, 0.1,
              None)
    m.observe(record(model="fast", provider="p1", upstream_model="gpt-5-mini", key="team-a", cost_usd=0.5), 200, 0.1,
              None)
    m.observe(record(key="team-a", rejected="budget"), 429, 0.001, None)
    m.observe(record(rejected="auth"), 401, 0.001, None)
    s = parse(m.exposition())
    assert value(s, "gateway_cost_usd_total", key="team-a", provider="p1", model="gpt-5-mini") == 0.75
    assert value(s, "gateway_rejected_total", key="team-a", reason="budget") == 1
    assert value(s, "gateway_rejected_total", key="none", reason="auth") == 1
    assert value(s, "gateway_requests_total", status="429", provider="none") == 1


def test_without_cost_or_rejection_neither_series_exists() -> None:
    m = metrics()
    m.observe(record(model="fast", provider="p1", upstream_model="gpt-5-mini"), 200, 0.1, None)
    s = parse(m.exposition())
    assert not any(name.startswith(("gateway_cost_usd", "gateway_rejected")) for name, _ in s)


def test_requests_outside_any_app_are_not_counted() -> None:
    m = metrics()
    m.observe(RequestRecord(), 404, 0.001, None)
    assert value(parse(m.exposition()), "gateway_requests_total") == 0


def test_circuit_state_is_read_when_scraped() -> None:
    m = metrics()
    breakers = Breakers({"p1": BreakerSettings(consecutive_failures=1, min_requests=1)})
    m.configure(parse_config(CONFIG, source="test", env={}).config, breakers)
    deployment = breakers.deployment("p1", "gpt-5-mini")
    assert value(parse(m.exposition()), "gateway_circuit_state", provider="p1", model="gpt-5-mini") == 0
    deployment.settle(GatewayError(ErrorKind.UPSTREAM, "boom", provider="p1"), deployment.begin())
    assert value(parse(m.exposition()), "gateway_circuit_state", provider="p1", model="gpt-5-mini") == 2
    breakers.deployment("p1", "a-name-from-a-client")
    assert label_values(parse(m.exposition()), "gateway_circuit_state", "model") == {"gpt-5-mini", "other"}


def test_in_flight_and_reloads() -> None:
    m = metrics()
    gauge = m.in_flight("openai", True)
    gauge.inc()
    gauge.inc()
    gauge.dec()
    m.config_reloaded(True)
    m.config_reloaded(False)
    m.config_reloaded(False)
    s = parse(m.exposition())
    assert value(s, "gateway_in_flight", frontdoor="openai", stream="true") == 1
    assert value(s, "gateway_config_reloads_total", result="applied") == 1
    assert value(s, "gateway_config_reloads_total", result="refused") == 2


def test_the_families_are_the_issue_table_the_dashboard_is_built_on() -> None:
    from tests.unit.deploy.test_grafana_dashboard import COUNTERS, GAUGES, HISTOGRAMS

    kinds = {family.name: family.type for family in metrics().registry.collect()}
    exported = {f"{name}_total" if kind == "counter" else name: kind for name, kind in kinds.items()}
    assert {name for name, kind in exported.items() if kind == "histogram"} == HISTOGRAMS
    assert {name for name, kind in exported.items() if kind == "counter"} == COUNTERS
    assert {name for name, kind in exported.items() if kind == "gauge"} == GAUGES
