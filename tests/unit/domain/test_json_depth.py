"""``nests_deeper``: the depth of a JSON text's arrays and objects, strings and escapes aside."""

from __future__ import annotations

import json
import random

import pytest

from domain.ir import json_depth
from domain.ir.arguments import RAW_ARGUMENTS_KEY, tool_input
from domain.ir.json_depth import MAX_DEPTH, nests_deeper


def reference_depth(text: str) -> int:
    """The depth, character by character (what the bytes operations must agree with)."""
    depth = deepest = 0
    inside = escaped = False
    for char in text:
        if inside:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                inside = False
        elif char == '"':
            inside = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def nested(depth: int, inner: str = "1") -> bytes:
    return ("[" * depth + inner + "]" * depth).encode()


def test_nesting_up_to_the_limit_passes_and_one_more_level_does_not() -> None:
    assert not nests_deeper(nested(MAX_DEPTH))
    assert nests_deeper(nested(MAX_DEPTH + 1))
    assert nests_deeper(b'{"a":' * 1000 + b"1" + b"}" * 1000)


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"code": "[" * 500, "more": "{[" * 300, "quote": '\\"[[[' * 100}).encode()
    assert not nests_deeper(text)


def test_an_escaped_quote_does_not_end_a_string() -> None:
    # If \" ended the string, the brackets after it would nest 200 deep.
    text = json.dumps({"a": '\\"' + "[" * 200 + '\\\\"'}).encode()
    assert not nests_deeper(text)
    # An escaped backslash before a quote: the quote does end the string.
    assert nests_deeper(b'{"a":"x\\\\",' + b'"b":' + nested(MAX_DEPTH + 1) + b"}")


def _random_value(rng: random.Random, depth: int) -> object:
    pick = rng.random()
    if depth and pick < 0.3:
        return [_random_value(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    if depth and pick < 0.6:
        return {rng.choice(["k", "[", '\\"{', '"']): _random_value(rng, depth - 1) for _ in range(rng.randint(0, 3))}
    return rng.choice(["x", "[[[", "]]\\", "\\\\", '"["', '{"a":[', 1, None, '\\\\\\"[', "é[", "\u2028"])


@pytest.mark.parametrize("chunk", [1 << 20, 3, 7], ids=["one-chunk", "chunk-3", "chunk-7"])
def test_the_depth_agrees_with_a_character_by_character_count(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_depth, "_CHUNK", chunk)
    rng = random.Random(10)
    for _ in range(1500):
        text = json.dumps(_random_value(rng, rng.randint(0, 12)), ensure_ascii=rng.random() < 0.5)
        depth = reference_depth(text)
        assert nests_deeper(text.encode(), depth) is False, text
        if depth:
            assert nests_deeper(text.encode(), depth - 1) is True, text


def test_a_large_broad_text_is_checked_without_counting_each_bracket() -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "x"}]}] * 50_000
    assert not nests_deeper(json.dumps({"messages": messages}).encode())


def test_tool_arguments_nested_too_deep_are_kept_as_text() -> None:
    arguments = '{"a":' * 5000 + "1" + "}" * 5000
    raw, valid = tool_input(arguments)
    assert not valid
    assert json.loads(bytes(raw)) == {RAW_ARGUMENTS_KEY: arguments}
