"""Every example of the README, run against the bundled ``config.yaml`` with only the key it
says it needs.

The gateway runs twice on the bundled config, once with only ``OPENAI_API_KEY`` set and once
with only ``ANTHROPIC_API_KEY``, both providers' ``*_BASE_URL`` pointed at the fake upstream.
Examples are read from README.md itself: each code block that calls the gateway (a ``curl``, or
Python using the ``openai`` or ``anthropic`` SDK) names its key on its first line
(``# needs OPENAI_API_KEY``); its curl commands are sent as the HTTP requests they describe,
its Python runs as written, with only the address changed. So an example that drifts from
what the gateway does, or that needs a key it does not name, fails here.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import anthropic
import httpx
import pytest

from tests.e2e.conftest import ROOT, free_port
from tests.e2e.launcher import GatewayProcess
from tests.fakes.upstream import FakeUpstream, fixture

README = ROOT / "README.md"
README_URL = "http://localhost:8080"
KEYS = {"OPENAI_API_KEY": "sk-readme-openai", "ANTHROPIC_API_KEY": "sk-ant-readme"}
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_NEEDS = re.compile(r"\A# needs (OPENAI_API_KEY|ANTHROPIC_API_KEY)\n")
_SDK = re.compile(r"^(import (openai|anthropic)|from (openai|anthropic) import)", re.MULTILINE)


@dataclass(frozen=True)
class Example:
    language: str  # bash | python
    code: str
    key: str  # the one variable it needs
    line: int  # where it starts in README.md

    def __str__(self) -> str:
        return f"README.md:{self.line}"


def readme_examples() -> list[Example]:
    text = README.read_text()
    examples = []
    for match in _BLOCK.finditer(text):
        language, code = match.group(1), match.group(2)
        if not ("curl " in code or (language == "python" and _SDK.search(code))):
            continue  # not an example that calls the gateway (set-up commands, config)
        line = text.count("\n", 0, match.start()) + 1
        needs = _NEEDS.match(code)
        assert needs, f"README.md:{line}: an example's first line names its key ('# needs OPENAI_API_KEY')"
        examples.append(Example(language, code, needs.group(1), line))
    return examples


EXAMPLES = readme_examples()


def test_the_readme_has_examples_for_both_protocols_and_keys() -> None:
    assert {(e.language, e.key) for e in EXAMPLES} == {
        ("bash", "OPENAI_API_KEY"), ("bash", "ANTHROPIC_API_KEY"),
        ("python", "OPENAI_API_KEY"), ("python", "ANTHROPIC_API_KEY"),
    }  # fmt: skip


# ---- the gateways -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gateways(upstream_server: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, GatewayProcess]]:
    """One gateway on the bundled config per key, only that key set."""
    running: dict[str, GatewayProcess] = {}
    try:
        for key in KEYS:
            workdir = tmp_path_factory.mktemp(key.lower())
            env = {
                **{name: "" for name in KEYS},  # an empty variable counts as unset
                key: KEYS[key],
                "OPENAI_BASE_URL": f"{upstream_server.url}/v1",
                "ANTHROPIC_BASE_URL": upstream_server.url,
                "GATEWAY_ENV_FILE": str(workdir / ".env"),  # none: not the developer's own
            }
            gateway = GatewayProcess(config=ROOT / "config.yaml", log_path=workdir / "gateway.log",
                                     port=free_port(), env=env)  # fmt: skip
            running[key] = gateway.start()
        yield running
    finally:
        for gateway in running.values():
            gateway.stop()


@pytest.fixture
def fake(upstream_server: FakeUpstream) -> FakeUpstream:
    return upstream_server.reset()


def assert_reached_only_with(fake: FakeUpstream, key: str) -> None:
    """Every upstream request carried ``key``'s value, the way its provider takes it."""
    assert fake.requests, "the example reached no upstream"
    for request in fake.requests:
        if request.path.startswith("/v1/messages"):
            assert request.headers.get("x-api-key") == KEYS[key] and key == "ANTHROPIC_API_KEY", request.path
        else:
            assert request.headers.get("authorization") == f"Bearer {KEYS[key]}" and key == "OPENAI_API_KEY"


# ---- curl ---------------------------------------------------------------------------------------
def curl_commands(code: str) -> list[list[str]]:
    """The argument lists of the block's ``curl`` commands (comments and line breaks as a shell
    reads them)."""
    words = shlex.split(code.replace("\\\n", " "), comments=True)
    commands: list[list[str]] = []
    for word in words:
        if word == "curl":
            commands.append([])
        else:
            assert commands, f"a block with something other than curl: {word!r}"
            commands[-1].append(word)
    return commands


def send(arguments: list[str], base_url: str) -> httpx.Response:
    """The request a curl command line makes (the options the README uses; others fail)."""
    method, url, headers, data = "GET", None, {}, None
    words = iter(arguments)
    for word in words:
        if word == "-N":  # no output buffering: nothing to do here
            continue
        if word == "-H":
            name, _, value = next(words).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data, method = next(words), "POST" if method == "GET" else method
        elif word == "-X":
            method = next(words)
        elif not word.startswith("-") and url is None:
            url = word
        else:
            raise AssertionError(f"a curl option this test does not know: {word}")
    assert url is not None and url.startswith(README_URL), url
    return httpx.request(method, base_url + url[len(README_URL):], headers=headers, content=data, timeout=20)


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.language == "bash"], ids=str)
def test_curl_example(example: Example, gateways: dict[str, GatewayProcess], fake: FakeUpstream) -> None:
    commands = curl_commands(example.code)
    assert commands
    for arguments in commands:
        response = send(arguments, gateways[example.key].url)
        assert response.status_code == 200, response.text
        if response.headers["content-type"].startswith("text/event-stream"):
            assert "data: [DONE]" in response.text or "event: message_stop" in response.text
        else:
            body = response.json()
            text = body["choices"][0]["message"]["content"] if "choices" in body else body["content"][0]["text"]
            assert text.startswith("Hello from the fake upstream!")
    assert_reached_only_with(fake, example.key)


# ---- Python -------------------------------------------------------------------------------------
@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.language == "python"], ids=str)
def test_python_example(example: Example, gateways: dict[str, GatewayProcess], fake: FakeUpstream) -> None:
    code = example.code.replace(README_URL, gateways[example.key].url)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    if "embeddings.create" in code:  # prints how many vectors came back: the fake's answer has 2
        assert result.stdout == "2\n"
    else:
        assert "Hello from the fake upstream!" in result.stdout
    assert_reached_only_with(fake, example.key)


def test_the_alias_example_reports_the_alias_it_asked_for(gateways: dict[str, GatewayProcess], fake: FakeUpstream) -> None:
    (example,) = [e for e in EXAMPLES if 'model="claude-haiku-4.5"' in e.code]
    code = example.code.replace(README_URL, gateways[example.key].url)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.stdout.startswith("claude-haiku-4.5 Hello from the fake upstream!"), result.stderr
    assert fake.requests[0].json["model"] == "gpt-5-mini"


# ---- Claude Code --------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK warns about the model's name
def test_claude_code_reaches_anthropic_with_only_its_key(gateways: dict[str, GatewayProcess], fake: FakeUpstream) -> None:
    (base_url,) = re.findall(r"ANTHROPIC_BASE_URL=(\S+?)[` ]", README.read_text())
    gateway = gateways["ANTHROPIC_API_KEY"]
    client = anthropic.Anthropic(base_url=base_url.replace(README_URL, gateway.url), api_key="unused", max_retries=0)
    request = json.loads(fixture("anthropic/request_claude_code.json"))  # as Claude Code sends it
    del request["stream"]
    betas = ["claude-code-20250219", "interleaved-thinking-2025-05-14"]
    extra = {"temperature": request.pop("temperature")}
    with client.beta.messages.stream(**request, betas=betas, extra_body=extra) as stream:
        final = stream.get_final_message()
    assert final.content and final.model == request["model"]
    (sent,) = fake.requests
    assert sent.path == "/v1/messages" and sent.json["model"] == request["model"]
    assert sent.headers["anthropic-beta"] == ",".join(betas)
    assert_reached_only_with(fake, "ANTHROPIC_API_KEY")


def test_without_its_key_an_example_gets_an_error_naming_the_variable(gateways: dict[str, GatewayProcess], fake: FakeUpstream) -> None:
    response = httpx.post(
        f"{gateways['OPENAI_API_KEY'].url}/anthropic/v1/messages",
        json={"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "Hello!"}]},
    )
    assert response.status_code == 500 and "ANTHROPIC_API_KEY" in response.json()["error"]["message"]
    assert fake.requests == []

