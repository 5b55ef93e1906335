"""compose.yaml's observability profile, read as the compose file it is (nothing is started):
Prometheus scraping the gateway and Grafana provisioned with the dashboard, both only with
``--profile observability``, published on the host's loopback only, their files mounted from
deploy/ where their configuration expects them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())  # type: ignore[no-any-return]


def mounts(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A service's bind mounts by target."""
    return {m["target"]: m for m in service["volumes"] if isinstance(m, dict) and m["type"] == "bind"}


def container_path(service: dict[str, Any], path: str) -> Path:
    """The file on the host that ``path`` inside the container is, through its bind mounts."""
    for target, mount in sorted(mounts(service).items(), key=lambda item: -len(item[0])):
        if path == target or path.startswith(target + "/"):
            return ROOT / mount["source"] / path[len(target) :].lstrip("/")
    raise AssertionError(f"{path} is not mounted")


def test_the_profile_adds_prometheus_and_grafana_and_leaves_the_gateway_alone() -> None:
    services = compose()["services"]
    assert "profiles" not in services["gateway"]  # `docker compose up` alone: the gateway only
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["observability"]
        image, _, tag = services[name]["image"].partition(":")
        assert tag and tag != "latest", f"{name}: pin the image"
    assert services["grafana"]["depends_on"] == ["prometheus"] and services["prometheus"]["depends_on"] == ["gateway"]


def test_every_port_is_published_on_the_loopback_only() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), (name, port)


def test_every_bind_mount_exists_and_is_read_only() -> None:
    for name, service in compose()["services"].items():
        for mount in mounts(service).values():
            if mount["type"] == "bind":  # what the project holds, which no container writes
                assert (ROOT / mount["source"]).exists(), (name, mount["source"])
                assert mount.get("read_only") is True, (name, mount["target"])
    named = {m["source"] for s in compose()["services"].values() for m in s.get("volumes", []) if m["type"] == "volume"}
    assert named == set(compose()["volumes"]) == {"gateway-state", "prometheus-data", "grafana-data"}


def test_prometheus_scrapes_the_gateways_metrics_from_the_config_it_is_started_with() -> None:
    service = compose()["services"]["prometheus"]
    (config_flag,) = [arg for arg in service["command"] if arg.startswith("--config.file=")]
    config = yaml.safe_load(container_path(service, config_flag.partition("=")[2]).read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    gateway = compose()["services"]["gateway"]
    container_port = gateway["ports"][0].rsplit(":", 1)[1]
    assert job["static_configs"] == [{"targets": [f"gateway:{container_port}"]}]
    assert (config["global"]["scrape_interval"], service["ports"]) == ("15s", ["127.0.0.1:${PROMETHEUS_PORT:-9090}:9090"])


def test_grafana_is_provisioned_with_the_prometheus_data_source_and_the_dashboard() -> None:
    service = compose()["services"]["grafana"]
    provisioning = container_path(service, "/etc/grafana/provisioning")
    (datasource,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert (datasource["type"], datasource["url"], datasource["uid"]) == ("prometheus", "http://prometheus:9090", "prometheus")
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "poly-llm-gateway.yml").read_text())["providers"]
    dashboards = container_path(service, provider["options"]["path"])
    assert provider["type"] == "file" and (dashboards / "poly-llm-gateway.json").is_file()
    home = service["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert container_path(service, home) == dashboards / "poly-llm-gateway.json"
