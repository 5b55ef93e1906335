"""Tool-call input in the IR is always a JSON object; this is where text becomes one."""

from __future__ import annotations

import msgspec

from domain.ir.json_depth import nests_deeper

EMPTY_OBJECT = msgspec.Raw(b"{}")
RAW_ARGUMENTS_KEY = "_raw_arguments"

_object_check = msgspec.json.Decoder(dict[str, msgspec.Raw])
_encode = msgspec.json.Encoder().encode


def tool_input(arguments: str | bytes | None) -> tuple[msgspec.Raw, bool]:
    """The IR input for a tool call's JSON ``arguments`` text, and whether the text was valid.

    A JSON object is kept as sent; empty text is ``{}`` (models send it for functions without
    parameters). Anything else (arguments cut short by a token limit, or malformed by the
    model) cannot go into the IR verbatim: invalid JSON would corrupt every body built from it,
    and dropping it would hide what the model produced, so it is kept as a string under
    ``"_raw_arguments"``. So is an object nested deeper than ``MAX_DEPTH`` (no decoder or walk
    over it could be trusted to survive it).
    """
    if not arguments or not arguments.strip():
        return EMPTY_OBJECT, True
    data = arguments.encode() if isinstance(arguments, str) else arguments
    try:
        if nests_deeper(data):
            raise msgspec.DecodeError
        _object_check.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        text = arguments if isinstance(arguments, str) else arguments.decode(errors="replace")
        return msgspec.Raw(_encode({RAW_ARGUMENTS_KEY: text})), False
    return msgspec.Raw(data), True
