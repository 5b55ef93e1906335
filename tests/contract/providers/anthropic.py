"""The ``anthropic`` kind's recorded answers (Anthropic's Messages API)."""

from tests.contract.providers import ProviderCase
from tests.contract.providers.openai import TEXT

CASE = ProviderCase(
    completion="anthropic/message_text.json",
    text=TEXT,
    stream="anthropic/stream_text.sse",
    stream_error="anthropic/stream_midstream_error.sse",
    stream_error_message="Overloaded (scripted MIDERR)",
    error="anthropic/error_529_overloaded.json",
    error_status=529,
    error_message="Overloaded",
    client_body={"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "Hello!"}]},
    count=("anthropic/count_tokens.json", 31),
)
