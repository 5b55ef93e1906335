"""What a stored turn keeps for ``previous_response_id``, and the history it gives back.

A follow-up turn continues the conversation of the turn it names: that turn's input items (the
history it continued included, its ``instructions`` not: they are for their own turn only),
then its output items, then the follow-up's own input. A stored turn holds exactly that:
``input`` (every item before its output, oldest first) and the Response it answered with (its
``output`` items, and what ``GET /v1/responses/{id}`` returns), so one lookup gives the whole
history, whichever provider answered each turn. Items are kept as the client and the gateway
wrote them, byte for byte: reasoning state in ``encrypted_content`` survives.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from adapters.inbound.openai_responses.decode import ResponsesCall
from adapters.protocols.openai.responses.response import Response, StoredOutput


class StoredTurn(msgspec.Struct, kw_only=True):
    input: list[msgspec.Raw]  # the conversation before this turn's output, oldest first
    response: msgspec.Raw  # the Response object, as the client got it


_encode = msgspec.json.Encoder().encode
_turn = msgspec.json.Decoder(StoredTurn)
_output = msgspec.json.Decoder(StoredOutput)


def turn_record(call: ResponsesCall, history: Sequence[msgspec.Raw], response: Response | bytes) -> bytes:
    """The stored form of the turn ``call`` made (``history``: the items it continued);
    ``response`` as a struct, or already encoded (a relayed upstream's)."""
    body = response if isinstance(response, bytes) else _encode(response)
    return _encode(StoredTurn(input=[*history, *call.input_items], response=msgspec.Raw(body)))


def history_items(record: bytes) -> list[msgspec.Raw]:
    """The items a follow-up of the stored turn continues: its input, then its output."""
    turn = _turn.decode(record)
    return [*turn.input, *_output.decode(turn.response).output]


def stored_response(record: bytes) -> bytes:
    """The stored turn's Response object (``GET /v1/responses/{id}``)."""
    return bytes(_turn.decode(record).response)
