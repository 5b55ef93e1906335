"""Both protocols' usage, decoded by their own codecs, priced: the cache-token conventions.

OpenAI's ``cached_tokens`` are part of ``prompt_tokens``; Anthropic's cache reads and writes are
not part of its ``input_tokens``. Each codec turns its wire usage into the IR's one convention,
so the same price gives the figure computed by hand here.
"""

from __future__ import annotations

import json

from adapters.outbound.anthropic.response import parse_response as parse_anthropic
from adapters.outbound.openai.response import parse_response as parse_openai
from domain.pricing import Price, cost

MINI = Price(input=0.15, output=0.6, cache_read=0.075)
HAIKU = Price(input=1.0, output=5.0, cache_read=0.1, cache_write=1.25)


def test_openai_cached_tokens_are_priced_once_at_the_cache_rate() -> None:
    body = {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2000, "completion_tokens": 300, "total_tokens": 2300,
                  "prompt_tokens_details": {"cached_tokens": 1500}},
    }
    usage = parse_openai(json.dumps(body).encode()).usage
    # 500 uncached * 0.15 + 1500 cached * 0.075 + 300 * 0.6 = 367.5 per million
    assert cost(usage, MINI) == 0.0003675


def test_anthropic_cache_tokens_are_added_to_the_prompt_and_priced_at_their_rates() -> None:
    body = {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 100, "output_tokens": 500, "cache_read_input_tokens": 4000,
                  "cache_creation_input_tokens": 2000},
    }
    usage = parse_anthropic(json.dumps(body).encode()).usage
    assert usage.input_tokens == 6100
    # 100 * 1 + 4000 * 0.1 + 2000 * 1.25 + 500 * 5 = 5500 per million
    assert cost(usage, HAIKU) == 0.0055
