"""Codex CLI (``codex exec``, ``wire_api = "responses"``) through the real gateway: a prompt, and
a tool round trip (the model asks for a shell command, Codex runs it and sends its output back),
on an Anthropic-protocol fake and on a fake that has only Chat Completions.

Codex runs with a temporary CODEX_HOME whose config.toml names the gateway as its model
provider, in a temporary working directory, approvals and its own sandbox off (the scripted
command is an ``echo``)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.codex_cli import codex_binary
from tests.e2e.conftest import Gateway
from tests.e2e.turns import anthropic_sse, chat_sse, text, tool_call
from tests.fakes.upstream import FakeUpstream, Stream

CLIENT_KEY = "codex-client-key"
UPSTREAMS: dict[str, tuple[str, str, Callable[..., Stream]]] = {
    "anthropic": ("claude-3-5-haiku", "/v1/messages", anthropic_sse),
    "chat-completions": ("gpt-4o-mini", "/v1/chat/completions", chat_sse),
}
CONFIG = """
model = "{model}"
model_provider = "gateway"

[model_providers.gateway]
name = "poly-llm-gateway"
base_url = "{base_url}"
wire_api = "responses"
env_key = "GATEWAY_CLIENT_KEY"
"""


@pytest.fixture(scope="module")
def codex() -> Path:
    return codex_binary()


def run_codex(codex: Path, gateway: Gateway, model: str, prompt: str, tmp_path: Path) -> str:
    home, work = tmp_path / "codex-home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (home / "config.toml").write_text(CONFIG.format(model=model, base_url=f"{gateway.url}/openai/v1"))
    env = {**os.environ, "CODEX_HOME": str(home), "HOME": str(tmp_path), "GATEWAY_CLIENT_KEY": CLIENT_KEY}
    command = [str(codex), "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
               "-C", str(work), prompt]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"codex exec failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return done.stdout


def requests_to(upstream: FakeUpstream, path: str) -> list[dict[str, Any]]:
    return [r.json for r in upstream.requests if r.path == path]


@pytest.mark.parametrize("kind", sorted(UPSTREAMS))
def test_codex_completes_a_prompt(
    codex: Path, gateway: Gateway, upstream: FakeUpstream, tmp_path: Path, kind: str
) -> None:
    model, path, turn = UPSTREAMS[kind]
    upstream.script_for(path, turn(text("Hello from the gateway.")))
    out = run_codex(codex, gateway, model, "Say hello", tmp_path)
    assert "Hello from the gateway." in out
    (sent,) = requests_to(upstream, path)
    assert sent["model"] == model and sent["stream"] is True
    assert "Say hello" in str(sent["messages"])


@pytest.mark.parametrize("kind", sorted(UPSTREAMS))
def test_codex_runs_a_tool_and_sends_its_output_back(
    codex: Path, gateway: Gateway, upstream: FakeUpstream, tmp_path: Path, kind: str
) -> None:
    model, path, turn = UPSTREAMS[kind]
    call = tool_call("call_codex_1", "exec_command", {"cmd": "echo hello-from-the-tool"})
    upstream.script_for(path, turn(call), turn(text("The tool said hello.")))
    out = run_codex(codex, gateway, model, "Run echo for me", tmp_path)
    assert "The tool said hello." in out
    first, second = requests_to(upstream, path)
    names = [tool.get("name") or tool["function"]["name"] for tool in first["tools"]]
    assert "exec_command" in names
    assert "hello-from-the-tool" in str(second["messages"][-1])  # the command's output, sent back
    assert "call_codex_1" in str(second["messages"])
