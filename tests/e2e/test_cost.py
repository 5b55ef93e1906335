"""Cost per request through the official SDKs: payloads with cache tokens in both protocols,
streaming and not; the ``x-gateway-cost-usd`` header and the access log's ``cost_usd`` against
figures computed by hand from the config's prices.

OpenAI's ``cached_tokens`` are part of ``prompt_tokens``; Anthropic's cache reads and writes are
not part of its ``input_tokens``: the same prices give different figures if either is wrong.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.launcher import GatewayProcess, launch, write_config
from tests.fakes.upstream import FakeUpstream, Reply, Stream

HELLO = [{"role": "user", "content": "Hello!"}]


def config(upstream: str) -> str:
    return f"""
server: {{log_level: info, log_format: json}}
apps:
  - {{name: oa, frontdoor: openai, path: /openai}}
  - {{name: an, frontdoor: anthropic, path: /anthropic}}
providers:
  - {{name: oai, type: openai, api_key: sk-oai, base_url: {upstream}/v1}}
  - {{name: anth, type: anthropic, api_key: sk-anth, base_url: {upstream}}}
routing:
  rules:
    - {{model_prefix: gpt-, provider: oai}}
    - {{model_prefix: claude-, provider: anth}}
pricing:
  - {{provider: oai, model: gpt-test-priced, input_per_mtok: 0.15, output_per_mtok: 0.6,
     cache_read_per_mtok: 0.075}}
  - {{model: claude-test-priced, input_per_mtok: 1, output_per_mtok: 5, cache_read_per_mtok: 0.1,
     cache_write_per_mtok: 1.25}}
"""


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    server = FakeUpstream().start_in_thread()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    with launch(config(upstream.url), tmp_path_factory.mktemp("cost")) as gateway:
        yield gateway


@pytest.fixture(autouse=True)
def _fresh(upstream: FakeUpstream) -> None:
    upstream.reset()


def openai_completion(model: str, prompt: int, cached: int, completion: int) -> Reply:
    body = {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                  "prompt_tokens_details": {"cached_tokens": cached}},
    }
    return Reply(body=json.dumps(body).encode())


def anthropic_message(model: str, uncached: int, read: int, written: int, output: int) -> Reply:
    body = {
        "id": "msg_1", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": uncached, "output_tokens": output, "cache_read_input_tokens": read,
                  "cache_creation_input_tokens": written},
    }
    return Reply(body=json.dumps(body).encode())


def frame(data: dict[str, object], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def openai_stream(model: str, prompt: int, cached: int, completion: int) -> Stream:
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": model}
    return Stream((
        frame({**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}]}),
        frame({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        frame({**chunk, "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                                 "total_tokens": prompt + completion,
                                                 "prompt_tokens_details": {"cached_tokens": cached}}}),
        b"data: [DONE]\n\n",
    ))  # fmt: skip


def anthropic_stream(model: str, uncached: int, read: int, written: int, output: int) -> Stream:
    start_usage = {"input_tokens": uncached, "cache_read_input_tokens": read,
                   "cache_creation_input_tokens": written, "output_tokens": 1}
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [],
               "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    return Stream((
        frame({"type": "message_start", "message": message}, "message_start"),
        frame({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
              "content_block_start"),
        frame({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
              "content_block_delta"),
        frame({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        frame({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
               "usage": {"output_tokens": output}}, "message_delta"),
        frame({"type": "message_stop"}, "message_stop"),
    ))  # fmt: skip


def test_openai_cached_tokens_are_priced_at_the_cache_rate(gateway: GatewayProcess, upstream: FakeUpstream) -> None:
    upstream.script(openai_completion("gpt-test-priced", prompt=2000, cached=1500, completion=300))
    raw = gateway.openai().chat.completions.with_raw_response.create(model="gpt-test-priced", messages=HELLO)
    assert raw.parse().usage.prompt_tokens_details.cached_tokens == 1500
    # 500 uncached * 0.15 + 1500 cached * 0.075 + 300 out * 0.6 = 75 + 112.5 + 180 = 367.5 per million
    assert raw.headers["x-gateway-cost-usd"] == "0.0003675"
    assert gateway.access_log(raw.headers["x-request-id"])["cost_usd"] == 0.0003675


def test_anthropic_cache_reads_and_writes_are_priced_at_their_rates(
    gateway: GatewayProcess, upstream: FakeUpstream
) -> None:
    upstream.script(anthropic_message("claude-test-priced", uncached=100, read=4000, written=2000, output=500))
    raw = gateway.anthropic().messages.with_raw_response.create(
        model="claude-test-priced", max_tokens=100, messages=HELLO
    )
    usage = raw.parse().usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (100, 4000, 2000)
    # 100 * 1 + 4000 * 0.1 + 2000 * 1.25 + 500 * 5 = 100 + 400 + 2500 + 2500 = 5500 per million
    assert raw.headers["x-gateway-cost-usd"] == "0.0055"
    line = gateway.access_log(raw.headers["x-request-id"])
    assert (line["cost_usd"], line["input_tokens"], line["cache_write_tokens"]) == (0.0055, 6100, 2000)


def test_an_anthropic_upstream_behind_the_openai_frontdoor_costs_the_same(
    gateway: GatewayProcess, upstream: FakeUpstream
) -> None:
    upstream.script(anthropic_message("claude-test-priced", uncached=100, read=4000, written=2000, output=500))
    raw = gateway.openai().chat.completions.with_raw_response.create(model="claude-test-priced", messages=HELLO)
    assert raw.parse().usage.prompt_tokens == 6100  # OpenAI's convention: the cache included
    assert raw.headers["x-gateway-cost-usd"] == "0.0055"


def test_an_openai_stream_is_priced_when_it_ends(gateway: GatewayProcess, upstream: FakeUpstream) -> None:
    upstream.script(openai_stream("gpt-test-priced", prompt=1200, cached=1000, completion=40))
    raw = gateway.openai().chat.completions.with_raw_response.create(
        model="gpt-test-priced", messages=HELLO, stream=True
    )
    assert "x-gateway-cost-usd" not in raw.headers  # unknown when the head is sent
    assert "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices) == "Hi"
    # 200 * 0.15 + 1000 * 0.075 + 40 * 0.6 = 30 + 75 + 24 = 129 per million
    assert gateway.access_log(raw.headers["x-request-id"])["cost_usd"] == 0.000129


def test_an_anthropic_stream_is_priced_when_it_ends(gateway: GatewayProcess, upstream: FakeUpstream) -> None:
    upstream.script(anthropic_stream("claude-test-priced", uncached=50, read=3000, written=400, output=200))
    raw = gateway.anthropic().messages.with_raw_response.create(
        model="claude-test-priced", max_tokens=100, messages=HELLO, stream=True
    )
    assert "x-gateway-cost-usd" not in raw.headers
    assert [e.type for e in raw.parse()][-1] == "message_stop"
    # 50 * 1 + 3000 * 0.1 + 400 * 1.25 + 200 * 5 = 50 + 300 + 500 + 1000 = 1850 per million
    assert gateway.access_log(raw.headers["x-request-id"])["cost_usd"] == 0.00185


def test_an_unpriced_model_costs_zero_and_is_logged_once(gateway: GatewayProcess, upstream: FakeUpstream) -> None:
    for _ in range(2):
        upstream.script(openai_completion("gpt-test-unpriced", prompt=10, cached=0, completion=5))
        raw = gateway.openai().chat.completions.with_raw_response.create(model="gpt-test-unpriced", messages=HELLO)
        assert raw.headers["x-gateway-cost-usd"] == "0"
    assert gateway.access_log(raw.headers["x-request-id"])["cost_usd"] == 0
    unpriced = gateway.logs("pricing.unpriced")
    assert [(u["provider"], u["model"]) for u in unpriced] == [("oai", "gpt-test-unpriced")]


def test_a_reload_applies_new_pricing_entries(upstream: FakeUpstream, tmp_path: Path) -> None:
    with launch(config(upstream.url), tmp_path) as gateway:
        upstream.script(openai_completion("gpt-test-priced", prompt=1000, cached=0, completion=0))
        raw = gateway.openai().chat.completions.with_raw_response.create(model="gpt-test-priced", messages=HELLO)
        assert raw.headers["x-gateway-cost-usd"] == "0.00015"  # 1000 * 0.15 per million
        write_config(gateway.config, config(upstream.url).replace("input_per_mtok: 0.15", "input_per_mtok: 0.3"))
        gateway.signal(signal.SIGHUP)
        gateway.wait_log(lambda r: r.get("event") == "config.reloaded")
        upstream.script(openai_completion("gpt-test-priced", prompt=1000, cached=0, completion=0))
        raw = gateway.openai().chat.completions.with_raw_response.create(model="gpt-test-priced", messages=HELLO)
        assert raw.headers["x-gateway-cost-usd"] == "0.0003"
