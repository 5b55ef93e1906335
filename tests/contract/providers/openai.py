"""The ``openai`` kind's recorded answers (OpenAI's Chat Completions API)."""

from tests.contract.providers import ProviderCase

TEXT = (
    "Hello from the fake upstream! Unicode survives: café, naïve, 日本語, emoji 🚀🎉. Quotes \"double\" "
    "and 'single', a backslash \\ and a newline\nsecond line. The end."
)

CASE = ProviderCase(
    completion="openai/chat_text.json",
    text=TEXT,
    stream="openai/stream_text_with_usage.sse",
    stream_error="openai/stream_midstream_error.sse",
    stream_error_message="The server had an error while processing your request (scripted MIDERR).",
    error="openai/error_429.json",
    error_status=429,
    error_message="Rate limit reached for requests (scripted ERR429 from fake upstream).",
    client_body={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello!"}]},
    embeddings="openai/embeddings.json",
)
