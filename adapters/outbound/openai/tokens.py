"""An offline estimate of a request's input tokens, for ``count_tokens`` when no tokenizer is at hand.

Text is split the way OpenAI's BPE tokenizers pre-split it (cl100k/o200k: contractions, words
with one leading space or symbol, digit groups of up to three, symbol runs, whitespace runs), and
each piece is priced by how BPE merges such pieces: a common word is one token, a long or rare
word a few, a CJK character about one, other non-ASCII letters about one per three characters.
On top come the chat format's overheads (OpenAI cookbook, "How to count tokens with tiktoken"):
4 tokens per message, 3 to prime the reply, and function definitions rendered compactly as
``name:description`` and ``property:type:description`` lines. Images cost a fixed 765 tokens (a
1024x1024 image at high detail) or 85 at low detail. It is an estimate, tested within 25% of
published counts; thinking blocks count nothing (they are not sent back to the model).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import msgspec

from domain.ir import (
    AnyBlock,
    ChatRequest,
    ImageBlock,
    OpaqueBlock,
    OpaqueTool,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    Tool,
    ToolResultBlock,
    ToolUseBlock,
)

# The cl100k/o200k pre-tokenizer, with \p{L} as [^\W\d_] and \p{N} as \d (stdlib re), its
# alternatives reordered for speed.
_PIECES = re.compile(
    r" ?[^\W\d_]+"  # a word after an optional space (first: the most common piece)
    r"|(?:[^\s\w]|_)[^\W\d_]+"  # a word after one symbol: _name, .attr, 's, (call
    r"|\d{1,3}"
    r"| ?(?:[^\s\w]|_)+[\r\n]*"  # a run of symbols
    r"|\s*[\r\n]+"
    r"|\s+(?!\S)"
    r"|\s+"
)

PER_MESSAGE = 4  # <|start|>role ... <|end|>
REPLY_PRIMING = 3  # <|start|>assistant<|message|>
PER_TOOL_CALL = 8  # the call's envelope (namespace, recipient, json marker)
PER_TOOL = 7  # a function definition's envelope
PER_PROPERTY = 3
TOOLS_OVERHEAD = 12  # the functions namespace around all definitions
IMAGE_TOKENS = 765
IMAGE_TOKENS_LOW = 85
TEXT_CHUNK = 1 << 16  # characters pre-tokenized in one call

_schema_decoder = msgspec.json.Decoder()


def estimate_text_tokens(text: str) -> int:
    """Estimated BPE tokens of a text."""
    if not text:
        return 0
    # Pieces repeat a lot (" the", "(", "\n    "): price each distinct piece once.
    if len(text) <= TEXT_CHUNK:
        counts = Counter(_PIECES.findall(text))
    else:  # a long text a chunk at a time: bounded memory, and no call holds the GIL for long
        counts = Counter()
        for chunk in _chunks(text):
            counts.update(_PIECES.findall(chunk))
    return sum(_piece_tokens(piece) * count for piece, count in counts.items())


def _chunks(text: str) -> Iterator[str]:
    """``text`` in pieces of at most ``TEXT_CHUNK`` characters, cut before a space where there
    is one in the second half (pieces start with their space, so few are cut in two)."""
    start = 0
    while len(text) - start > TEXT_CHUNK:
        end = start + TEXT_CHUNK
        cut = text.rfind(" ", start + TEXT_CHUNK // 2, end)
        cut = end if cut <= start else cut
        yield text[start:cut]
        start = cut
    yield text[start:]


def _piece_tokens(piece: str) -> int:
    first = piece[0]
    if piece[-1].isalpha():  # a word, possibly after one space or symbol
        if first.isalpha():
            return _word_tokens(piece)
        # BPE keeps " word", "_word", ".word", "'s" together, most other symbols apart
        return _word_tokens(piece[1:]) + (first not in " _.'")
    if piece.isspace() or piece.isdigit():
        return 1
    # a run of symbols (and trailing newlines): BPE merges about two at a time
    return (len(piece.strip()) + 1) // 2 or 1


def _word_tokens(word: str) -> int:
    if word.isascii():
        if word.islower() or word.istitle() or word.isupper():
            return _segment_tokens(len(word))
        # camelCase and acronyms: BPE tokens rarely cross a lower-to-upper case change
        tokens, start = 0, 0
        for i in range(1, len(word)):
            if word[i].isupper() and word[i - 1].islower():
                tokens += _segment_tokens(i - start)
                start = i
        return tokens + _segment_tokens(len(word) - start)
    length = len(word)
    cjk = sum(1 for char in word if char >= "\u2e80")
    rest = length - cjk
    return cjk + (rest + 2) // 3


def _segment_tokens(length: int) -> int:
    """Common words up to nine letters are one token; longer ones one more per four letters."""
    return 1 if length <= 9 else 1 + (length - 6) // 4


def estimate_tokens(request: ChatRequest) -> int:
    """Estimated input tokens of ``request`` for an OpenAI-style model."""
    tokens = REPLY_PRIMING
    if request.system:
        tokens += sum(PER_MESSAGE + estimate_text_tokens(block.text) for block in request.system)
    for message in request.messages:
        tokens += PER_MESSAGE + sum(_block_tokens(block) for block in message.content)
    if request.tools:
        tokens += TOOLS_OVERHEAD + sum(_tool_tokens(tool) for tool in request.tools)
    return tokens


def _block_tokens(block: AnyBlock) -> int:
    match block:
        case TextBlock():
            return estimate_text_tokens(block.text)
        case ImageBlock():
            return IMAGE_TOKENS_LOW if block.detail == "low" else IMAGE_TOKENS
        case ToolUseBlock():
            arguments = bytes(block.input).decode(errors="replace")
            return PER_TOOL_CALL + estimate_text_tokens(block.name) + estimate_text_tokens(arguments)
        case ToolResultBlock():  # its own tool message on OpenAI
            return PER_MESSAGE + sum(map(_block_tokens, block.content))
        case ThinkingBlock() | RedactedThinkingBlock():
            return 0
        case OpaqueBlock():  # documents, audio, files: roughly four bytes per token of their JSON
            return len(block.data) // 4
        case _:
            raise TypeError(f"unknown block {type(block).__name__}")


def _tool_tokens(tool: Tool | OpaqueTool) -> int:
    match tool:
        case Tool():
            description = tool.description.rstrip(".") if isinstance(tool.description, str) else ""
            tokens = PER_TOOL + estimate_text_tokens(f"{tool.name}:{description}")
            try:
                schema = _schema_decoder.decode(tool.input_schema)
            except msgspec.DecodeError:
                return tokens + estimate_text_tokens(bytes(tool.input_schema).decode(errors="replace"))
            return tokens + _schema_tokens(schema)
        case OpaqueTool():
            return estimate_text_tokens(bytes(tool.data).decode(errors="replace"))
        case _:
            raise TypeError(f"unknown tool {type(tool).__name__}")


def _schema_tokens(schema: Any) -> int:
    """A JSON schema's properties as ``name:type:description`` lines, nested objects included."""
    if not isinstance(schema, dict):
        return 0
    properties = schema.get("properties")
    tokens = 0
    if isinstance(properties, dict) and properties:
        tokens += PER_PROPERTY
        for name, prop in properties.items():
            tokens += PER_PROPERTY
            if not isinstance(prop, dict):
                tokens += estimate_text_tokens(str(name))
                continue
            kind = prop.get("type", "")
            description = prop.get("description", "")
            description = description.rstrip(".") if isinstance(description, str) else ""
            tokens += estimate_text_tokens(f"{name}:{kind}:{description}")
            enum = prop.get("enum")
            if isinstance(enum, list) and enum:
                tokens += sum(PER_PROPERTY + estimate_text_tokens(str(item)) for item in enum) - PER_PROPERTY
            tokens += _schema_tokens(prop) + _schema_tokens(prop.get("items"))
    return tokens
