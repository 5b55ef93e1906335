"""What each provider kind gives the provider contract suite (``tests/contract/test_providers.py``):
recorded answers of its upstream, and a client body of its own protocol.

A kind's module here is named after its ``type`` (``openai.py`` for ``PROVIDER_KINDS["openai"]``)
and defines ``CASE``. The suite refuses a kind without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProviderCase:
    completion: str  # fixture: a non-streaming answer (tests/fixtures/<name>)
    text: str  # the text of that answer and of ``stream``'s
    stream: str  # fixture: a streamed answer, every upstream line of it
    stream_error: str  # fixture: a stream that starts, then ends with an error event
    stream_error_message: str  # the message of that error event, as it appears in the fixture
    error: str  # fixture: the body of an error answer
    error_status: int  # the status it came with
    error_message: str  # its message, as the fixture spells it
    client_body: dict[str, Any]  # a client request of the kind's own protocol (the native path)
    count: tuple[str, int] | None = None  # fixture of a count_tokens answer and its count; None: counted locally
    embeddings: str | None = None  # fixture: an embeddings answer; None: the kind's API has none
