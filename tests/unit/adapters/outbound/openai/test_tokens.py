"""The offline token estimate against published token counts.

Sources (true counts measured by OpenAI with tiktoken and the API's ``usage.prompt_tokens``):
  OpenAI Cookbook, "How to count tokens with tiktoken"
  (github.com/openai/openai-cookbook, examples/How_to_count_tokens_with_tiktoken.ipynb):
  - single strings: "tiktoken is great!" 6 tokens, "antidisestablishmentarianism" 6,
    "2 + 2 = 4" 7, "お誕生日おめでとう" 9 (cl100k_base) / 8 (o200k_base);
  - the "corporate jargon" chat (5 system messages, 4 of them named, and 1 user message):
    129 prompt tokens on gpt-4 / gpt-3.5-turbo, 124 on gpt-4o / gpt-4o-mini;
  - the weather chat with one function tool: 105 prompt tokens on gpt-4, 101 on gpt-4o.

Bounds asserted: whole prompts within 25% of both published counts (measured: within 11%);
single short strings within 2 tokens each and within 25% in total.
"""

from __future__ import annotations

import msgspec
import pytest

from adapters.outbound.openai.tokens import (
    IMAGE_TOKENS,
    IMAGE_TOKENS_LOW,
    estimate_text_tokens,
    estimate_tokens,
)
from domain.ir import (
    ChatRequest,
    ImageBlock,
    Message,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    Tool,
    ToolResultBlock,
    ToolUseBlock,
)

BOUND = 0.25

STRINGS = [
    ("tiktoken is great!", 6),
    ("antidisestablishmentarianism", 6),
    ("2 + 2 = 4", 7),
    ("お誕生日おめでとう", 9),
]

JARGON_SYSTEM = [
    "You are a helpful, pattern-following assistant that translates corporate jargon into plain English.",
    "New synergies will help drive top-line growth.",
    "Things working well together will increase revenue.",
    "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.",
    "Let's talk later when we're less busy about how to do better.",
]
JARGON_USER = "This late pivot means we don't have time to boil the ocean for the client deliverable."

WEATHER_SYSTEM = "You are a helpful assistant that can answer to questions about the weather."
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "unit": {
            "type": "string",
            "description": "The unit of temperature to return",
            "enum": ["celsius", "fahrenheit"],
        },
    },
    "required": ["location"],
}


def within(estimate: int, true: int, bound: float = BOUND) -> bool:
    return abs(estimate - true) <= bound * true


def user(*blocks: object) -> Message:
    return Message(role="user", content=list(blocks))  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "true"), STRINGS, ids=[text for text, _ in STRINGS])
def test_short_strings_are_within_two_tokens(text: str, true: int) -> None:
    assert abs(estimate_text_tokens(text) - true) <= 2


def test_short_strings_in_total_are_within_the_bound() -> None:
    assert within(sum(estimate_text_tokens(text) for text, _ in STRINGS), sum(true for _, true in STRINGS))


@pytest.mark.parametrize("true", [129, 124], ids=["gpt-4", "gpt-4o"])
def test_corporate_jargon_chat_is_within_the_bound(true: int) -> None:
    request = ChatRequest(
        model="gpt-4o",
        system=[TextBlock(text=text) for text in JARGON_SYSTEM],
        messages=[user(TextBlock(text=JARGON_USER))],
    )
    assert within(estimate_tokens(request), true)


@pytest.mark.parametrize("true", [105, 101], ids=["gpt-4", "gpt-4o"])
def test_chat_with_a_function_tool_is_within_the_bound(true: int) -> None:
    request = ChatRequest(
        model="gpt-4o",
        system=[TextBlock(text=WEATHER_SYSTEM)],
        messages=[user(TextBlock(text="What's the weather like in San Francisco?"))],
        tools=[
            Tool(
                name="get_current_weather",
                description="Get the current weather in a given location",
                input_schema=msgspec.Raw(msgspec.json.encode(WEATHER_SCHEMA)),
            )
        ],
    )
    assert within(estimate_tokens(request), true)


def test_empty_request_costs_only_the_reply_priming() -> None:
    assert estimate_tokens(ChatRequest(model="m", messages=[])) == 3


def test_images_cost_a_fixed_amount_by_detail() -> None:
    def cost(*blocks: object) -> int:
        return estimate_tokens(ChatRequest(model="m", messages=[user(*blocks)]))

    base = cost()
    high = cost(ImageBlock(data="AAAA", media_type="image/png"))
    low = cost(ImageBlock(url="https://x.test/a.png", detail="low"))
    assert (high - base, low - base) == (IMAGE_TOKENS, IMAGE_TOKENS_LOW)


def test_thinking_costs_nothing_and_tool_turns_cost_their_content() -> None:
    thinking = Message(
        role="assistant",
        content=[
            ThinkingBlock(thinking="long private reasoning " * 50, signature="s"),
            RedactedThinkingBlock(data="x"),
        ],
    )
    assert estimate_tokens(ChatRequest(model="m", messages=[thinking])) == estimate_tokens(
        ChatRequest(model="m", messages=[Message(role="assistant", content=[])])
    )
    use = ToolUseBlock(id="t1", name="get_weather", input=msgspec.Raw(b'{"city":"Paris"}'))
    call = Message(role="assistant", content=[use])
    result = user(ToolResultBlock(tool_use_id="t1", content=[TextBlock(text="Sunny and 18 degrees")]))
    assert estimate_tokens(ChatRequest(model="m", messages=[call, result])) > 20


def test_longer_text_costs_proportionally_more() -> None:
    one = estimate_text_tokens(JARGON_USER)
    assert estimate_text_tokens(" ".join([JARGON_USER] * 10)) == pytest.approx(10 * one, rel=0.05)


def test_a_long_text_is_estimated_a_chunk_at_a_time_like_in_one_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.outbound.openai import tokens

    text = (JARGON_USER + "\n\n") * 2000
    assert len(text) > tokens.TEXT_CHUNK
    chunked = estimate_text_tokens(text)
    monkeypatch.setattr(tokens, "TEXT_CHUNK", len(text))
    assert chunked == pytest.approx(estimate_text_tokens(text), rel=0.001)
