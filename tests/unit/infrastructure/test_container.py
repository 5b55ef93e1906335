"""The container files, checked by reading them (no Docker engine runs the tests): the image
takes host and port from its environment, compose mounts the config directory, and the two
agree on ports and paths."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path, PurePosixPath

import yaml

from infrastructure.config.schema import ServerConfig

ROOT = Path(__file__).resolve().parents[3]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in dockerfile():
        if instruction == "ENV":
            env.update(word.split("=", 1) for word in shlex.split(arguments))  # type: ignore[misc]
    return env


def instruction(name: str) -> list[str]:
    return [arguments for found, arguments in dockerfile() if found == name]


def compose_service() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["gateway"]


def test_the_image_listens_where_its_environment_says_and_its_command_has_no_flags() -> None:
    env = image_env()
    assert env["GATEWAY_HOST"] == "0.0.0.0"
    (command,) = instruction("CMD")
    assert json.loads(command) == ["python", "-m", "app"]  # flags would win over env, .env and config
    (exposed,) = instruction("EXPOSE")
    assert exposed == env["GATEWAY_PORT"]
    (healthcheck,) = instruction("HEALTHCHECK")
    assert "os.environ['GATEWAY_PORT']" in healthcheck and "/healthz" in healthcheck
    (user,) = instruction("USER")
    assert user != "root"


def test_the_image_holds_the_bundled_config_where_its_environment_looks() -> None:
    env = image_env()
    config = PurePosixPath(env["GATEWAY_CONFIG"])
    assert PurePosixPath(env["GATEWAY_ENV_FILE"]).parent == config.parent
    (workdir,) = instruction("WORKDIR")
    copies = [shlex.split(arguments) for arguments in instruction("COPY")]
    assert ["config.yaml", str(config.relative_to(workdir))] in [[c[0], c[-1].removeprefix("./")] for c in copies]


def test_compose_mounts_the_config_directory_and_publishes_the_image_port_on_loopback() -> None:
    service, env = compose_service(), image_env()
    volume, state = service["volumes"]
    assert volume == {"type": "bind", "source": ".", "target": str(PurePosixPath(env["GATEWAY_CONFIG"]).parent),
                      "read_only": True}  # fmt: skip
    # spend without Redis is written to a named volume, never into the read-only config mount
    assert state == {"type": "volume", "source": "gateway-state",
                     "target": str(PurePosixPath(env["GATEWAY_STATE_FILE"]).parent)}  # fmt: skip
    assert (ROOT / volume["source"] / PurePosixPath(env["GATEWAY_CONFIG"]).name).is_file()
    (port,) = service["ports"]
    assert port == "127.0.0.1:${GATEWAY_PORT:-8080}:" + env["GATEWAY_PORT"]
    assert "env_file" not in service  # .env is read (and reloaded) by the gateway from the mount
    assert "command" not in service and "environment" not in service


def test_compose_waits_longer_than_the_gateway_drains() -> None:
    grace = compose_service()["stop_grace_period"]
    assert grace.endswith("s") and float(grace[:-1]) > ServerConfig().shutdown_grace_seconds


def test_the_build_context_leaves_keys_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".venv" in ignored


def test_the_container_environment_wins_over_the_bundled_config(tmp_path: Path) -> None:
    """What the image's command does, with its environment, outside a container."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(image_env())
    env.update({"GATEWAY_CONFIG": str(ROOT / "config.yaml"), "GATEWAY_ENV_FILE": str(tmp_path / ".env"),
                "PYTHONPATH": str(ROOT)})  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "app", "--check"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"serves 0.0.0.0:{image_env()['GATEWAY_PORT']}" in result.stdout


def test_make_run_takes_port_host_and_config() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # under make test

    def command(*variables: str) -> str:
        result = subprocess.run(["make", "--no-print-directory", "-n", "run", *variables], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        (line,) = [line for line in result.stdout.splitlines() if " -m app" in line]
        return line

    assert command("PORT=9000", "HOST=0.0.0.0", "CONFIG=other.yaml").split()[-6:] == [
        "--config", "other.yaml", "--port", "9000", "--host", "0.0.0.0",
    ]  # fmt: skip
    assert command().split()[-2:] == ["-m", "app"]  # else: GATEWAY_* from the environment or .env
