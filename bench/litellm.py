"""Optional comparison (``--litellm``): LiteLLM proxy, from its own venv, on the same fake upstream.

LiteLLM is installed on first use into ``bench/.work/litellm-venv`` (gitignored; several minutes
and ~750 MB), never into the project's venv. Its proxy runs with one worker on the gateway's
core, models ``oa/bench-model`` (OpenAI JSON) and ``oas/bench-model`` (OpenAI SSE) pointing at
nginx, no database, no master key, the local model-cost map (no network at start-up), and is
driven through its OpenAI endpoint ``/v1/chat/completions`` (the OpenAI-to-OpenAI scenarios).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec

LITELLM_PATH = "/v1/chat/completions"
LITELLM_SCENARIOS = ("openai-openai", "openai-openai-stream")


def ensure_litellm(work: Path) -> Path:
    venv = work / "litellm-venv"
    exe = venv / "bin" / "litellm"
    if not exe.exists():
        print("bench: installing litellm[proxy] into bench/.work/litellm-venv (a few minutes)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
        pip = [str(venv / "bin" / "pip"), "install", "-q", "litellm[proxy]"]
        subprocess.run(pip, check=True, timeout=900)
    return exe


def write_config(work: Path, upstream_port: int) -> Path:
    models = [
        {
            "model_name": f"{name}/bench-model",
            "litellm_params": {
                "model": "openai/gpt-4o-mini",
                "api_base": f"http://127.0.0.1:{upstream_port}{base}",
                "api_key": "bench-not-a-key",
            },
        }
        for name, base in (("oa", "/json/v1"), ("oas", "/sse/v1"))
    ]
    config = {"model_list": models, "litellm_settings": {"telemetry": False}}
    path = work / "litellm.yaml"
    path.write_bytes(msgspec.json.encode(config))  # JSON is YAML
    return path


def command(exe: Path, config: Path, port: int) -> tuple[list[str], dict[str, str]]:
    argv = [
        str(exe),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true",  # loopback only, no key
    }
    return argv, env
