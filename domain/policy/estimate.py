"""A cheap estimate of a request's input tokens, to admit it under a tokens-per-minute limit
before the upstream reports the real count (which then settles the difference)."""

from __future__ import annotations

from domain.ir import ChatRequest
from domain.ir.content import TextBlock, ThinkingBlock, ToolResultBlock, ToolUseBlock

CHARS_PER_TOKEN = 4
PER_MESSAGE = 4  # the role and framing every message costs
IMAGE_TOKENS = 800  # an image, whatever its size (a rough middle of what the APIs charge)


def estimate_input_tokens(request: ChatRequest) -> int:
    chars = 0
    extra = 0
    if isinstance(request.system, list):
        for block in request.system:
            chars += len(block.text)
    for message in request.messages:
        extra += PER_MESSAGE
        for content in message.content:
            if isinstance(content, TextBlock):
                chars += len(content.text)
            elif isinstance(content, ToolUseBlock):
                chars += len(content.input) + len(content.name)
            elif isinstance(content, ToolResultBlock):
                for inner in content.content:
                    if isinstance(inner, TextBlock):
                        chars += len(inner.text)
                    else:
                        extra += IMAGE_TOKENS
            elif isinstance(content, ThinkingBlock):
                chars += len(content.thinking)
            else:  # images, redacted thinking, protocol-specific blocks
                extra += IMAGE_TOKENS
    if isinstance(request.tools, list):
        for tool in request.tools:
            chars += len(getattr(tool, "name", "")) + len(getattr(tool, "description", "") or "")
    return chars // CHARS_PER_TOKEN + extra
