"""The Grafana dashboard (deploy/grafana/dashboards/) asks only for metrics the gateway exports.

Every PromQL expression of every panel, and every template variable's query, is read and each
metric name in it must be one of the table of ``/metrics`` (README, Observability), spelled as
Prometheus exposes it: a histogram as ``_bucket``, ``_sum`` or ``_count``, a counter with its
``_total``, a gauge as it is. The panels the dashboard promises must be there. Where promtool
is installed, Prometheus's own parser reads every query and the scrape config.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"

HISTOGRAMS = {
    "gen_ai_server_request_duration_seconds",
    "gen_ai_server_time_to_first_token_seconds",
    "gen_ai_server_time_per_output_token_seconds",
    "gen_ai_client_token_usage",
    "gateway_overhead_seconds",
}
COUNTERS = {
    "gateway_requests_total",
    "gateway_upstream_attempts_total",
    "gateway_failovers_total",
    "gateway_cost_usd_total",
    "gateway_rejected_total",
    "gateway_config_reloads_total",
}
GAUGES = {"gateway_in_flight", "gateway_circuit_state"}
EXPORTED = (
    {f"{name}{suffix}" for name in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")} | COUNTERS | GAUGES
)

# PromQL words that are not metric names: functions and aggregations (always followed by a
# parenthesis, removed by the pattern), and these keywords.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or",
             "unless", "inf", "nan"}
_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_CALL = re.compile(r"\b[a-zA-Z_][a-zA-Z0-9_]*\s*\(")
_NAME = re.compile(r"(?<![\w$.])[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _CALL.sub("(", text)
    return {name for name in _NAME.findall(text) if name.lower() not in _KEYWORDS}


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))


def dashboards() -> list[Path]:
    found = sorted(DASHBOARDS.glob("*.json"))
    assert found, f"no dashboard in {DASHBOARDS}"
    return found


def expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) of every panel target and every query variable."""
    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["type"] == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            found = _LABEL_VALUES.match(query)
            yield f"variable {variable['name']!r}", found.group(1) if found else query


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (status) (rate(gateway_requests_total{app=~"$app", status=~"5.."}[$__rate_interval]))',
         {"gateway_requests_total"}),
        ("histogram_quantile(0.99, sum by (le) (rate(gateway_overhead_seconds_bucket[5m])))",
         {"gateway_overhead_seconds_bucket"}),
        ("sum(rate(gateway_request_total[5m])) / sum(rate(gen_ai_server_request_duration_seconds_count[5m]))",
         {"gateway_request_total", "gen_ai_server_request_duration_seconds_count"}),
        ('max by (provider, model) (gateway_circuit_state{provider=~"a|b"}) * 3600 > bool 1', {"gateway_circuit_state"}),
        ("sum(increase(gateway_cost_usd_total[$__range])) or vector(0)", {"gateway_cost_usd_total"}),
    ],
)
def test_metric_names_are_read_out_of_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_an_unexported_name_is_caught() -> None:
    assert metric_names("rate(gen_ai_server_request_duration_seconds[5m])") - EXPORTED  # a histogram without _bucket
    assert metric_names("rate(gateway_requests[5m])") - EXPORTED


@pytest.mark.parametrize("path", dashboards(), ids=lambda p: p.name)
def test_every_query_names_only_exported_metrics(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    checked = 0
    for where, expr in expressions(dashboard):
        names = metric_names(expr)
        assert names, f"{where}: no metric in {expr!r}"
        assert names <= EXPORTED, f"{where}: {sorted(names - EXPORTED)} not exported by /metrics"
        checked += 1
    assert checked >= 20


def test_the_dashboard_shows_what_it_promises() -> None:
    dashboard = json.loads((DASHBOARDS / "poly-llm-gateway.json").read_text())
    used: dict[str, set[str]] = {}
    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            used.setdefault(panel["title"], set()).update(metric_names(target["expr"]))
    every = set().union(*used.values())
    bases = {re.sub(r"_(bucket|sum|count)$", "", name) for name in every}
    assert bases == HISTOGRAMS | COUNTERS | GAUGES  # every exported metric has a panel
    wanted = {
        "Requests / s by status": {"gateway_requests_total"},
        "Request duration p50 / p99": {"gen_ai_server_request_duration_seconds_bucket"},
        "Time to first token p50 / p99 by provider": {"gen_ai_server_time_to_first_token_seconds_bucket"},
        "Tokens / s by type": {"gen_ai_client_token_usage_sum"},
        "Cost by key (USD / hour)": {"gateway_cost_usd_total"},
        "Upstream attempts / s by result": {"gateway_upstream_attempts_total"},
        "Failovers / s": {"gateway_failovers_total"},
        "Circuit state by deployment": {"gateway_circuit_state"},
        "In flight by frontdoor": {"gateway_in_flight"},
        "Gateway overhead p50 / p99": {"gateway_overhead_seconds_bucket"},
    }
    for title, names in wanted.items():
        assert used.get(title) == names, title
    ids = [panel["id"] for panel in panels(dashboard["panels"])]
    assert len(ids) == len(set(ids))  # Grafana keys panels by id
    assert dashboard["uid"] == "poly-llm-gateway"
    datasources = {json.dumps(panel["datasource"]) for panel in panels(dashboard["panels"]) if panel["type"] != "row"}
    assert datasources == {json.dumps({"type": "prometheus", "uid": "${datasource}"})}


def test_every_panel_query_and_the_scrape_config_parse_with_promtool(tmp_path: Path) -> None:
    """Prometheus's own parser over every panel's PromQL (Grafana's variables given values) and
    over deploy/prometheus/prometheus.yml. Debian's ``prometheus`` package has promtool."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    substitutions = {"$__rate_interval": "1m", "$__range": "1h", "$app": ".*", "$provider": ".*"}
    rules = []
    for path in dashboards():
        for where, expr in expressions(json.loads(path.read_text())):
            if where.startswith("panel"):
                for variable, value in substitutions.items():
                    expr = expr.replace(variable, value)
                rules.append({"record": f"dashboard:query_{len(rules)}", "expr": expr})
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout
    config = ROOT / "deploy" / "prometheus" / "prometheus.yml"
    checked = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
