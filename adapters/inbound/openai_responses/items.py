"""Responses input items -> IR system blocks and messages.

- Consecutive items of one side share one IR message, in order: ``message`` (assistant),
  ``reasoning``, ``function_call`` and ``custom_tool_call`` items form an assistant turn;
  ``message`` (user), ``function_call_output`` and ``custom_tool_call_output`` items a user
  turn. Chat Completions and Anthropic both need a turn's tool calls in one message, their
  results right after it.
- ``system`` and ``developer`` messages become system text, in order, wherever they are.
- Parts: ``input_text``/``output_text``/``refusal`` -> text; ``input_image`` by URL or data URL
  -> image; ``input_file`` with ``file_data`` or ``file_id`` -> Chat Completions' ``file``
  part (opaque to other protocols); anything else stays opaque (protocol ``openai_responses``,
  kind = its type), as do item types the IR does not model (hosted tools' calls): a provider
  refuses those by kind rather than answer without them.
- ``function_call.arguments`` becomes the parsed arguments object (see
  ``domain.ir.arguments``); a custom tool call's ``input`` text becomes ``{"input": text}``.
- ``reasoning`` items: see ``reasoning.py``. Item references (``{"id": ...}``) need stored
  items the IR does not have: refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from msgspec import UNSET

from adapters.inbound.openai_responses.reasoning import unseal
from adapters.inbound.openai_responses.validation import decode_at, missing
from adapters.protocols.openai.responses import request as wire
from domain.errors import invalid_request
from domain.ir import (
    AnyBlock,
    ImageBlock,
    Message,
    OpaqueBlock,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from domain.ir.arguments import tool_input

PROTOCOL = "openai_responses"  # OpaqueBlock.protocol of what only this protocol understands

_item = msgspec.json.Decoder(wire.InputItem)
_part = msgspec.json.Decoder(wire.Part)
_encode = msgspec.json.Encoder().encode
_TEXT_PARTS = frozenset({"input_text", "output_text"})
_ROLES = frozenset({"user", "assistant", "system", "developer"})
_CONVERSATION_ROLES: dict[str, Role] = {"user": "user", "assistant": "assistant"}


class Conversation:
    """The system text and messages being built from items, turn by turn."""

    __slots__ = ("_open", "_role", "messages", "system")

    def __init__(self) -> None:
        self.system: list[TextBlock] = []
        self.messages: list[Message] = []
        self._role: Role | None = None
        self._open: list[AnyBlock] = []

    def add(self, role: Role, block: AnyBlock) -> None:
        if role != self._role:
            self._role, self._open = role, [block]
            self.messages.append(Message(role=role, content=self._open))
        else:
            self._open.append(block)

    def add_all(self, role: Role, blocks: Sequence[AnyBlock]) -> None:
        for block in blocks:
            self.add(role, block)


def add_items(items: Sequence[msgspec.Raw], path: str, out: Conversation) -> None:
    """Add ``items`` (found at ``path`` of the body, e.g. ``input``) to ``out``."""
    for i, raw in enumerate(items):
        where = f"{path}[{i}]"
        item: wire.InputItem = decode_at(_item, raw, where)
        kind = item.type if isinstance(item.type, str) else _untyped_kind(item)
        match kind:
            case "message":
                _message(item, where, out)
            case "function_call":
                block = ToolUseBlock(
                    id=_call_id(item, where),
                    name=_name(item, where),
                    input=tool_input(item.arguments or "")[0],
                )
                out.add("assistant", block)
            case "custom_tool_call":
                arguments = msgspec.Raw(_encode({"input": item.input or ""}))
                out.add(
                    "assistant",
                    ToolUseBlock(id=_call_id(item, where), name=_name(item, where), input=arguments),
                )
            case "function_call_output" | "custom_tool_call_output":
                content = _output(item.output, f"{where}.output")
                out.add("user", ToolResultBlock(tool_use_id=_call_id(item, where), content=content))
            case "reasoning":
                out.add_all("assistant", unseal(item, where))
            case "item_reference":
                raise invalid_request(
                    "Item references are not supported here: send the item itself, or continue the "
                    "conversation with previous_response_id.",
                    param=where,
                )
            case _:
                role: Role = "user" if kind.endswith("_output") else "assistant"
                out.add(role, OpaqueBlock(protocol=PROTOCOL, kind=kind, data=raw))


def _untyped_kind(item: wire.InputItem) -> str:
    """``{"id": ...}`` alone is an item reference; anything else without a type, a message."""
    if item.role is UNSET and item.content is UNSET and isinstance(item.id, str):
        return "item_reference"
    return "message"


def _call_id(item: wire.InputItem, where: str) -> str:
    if not isinstance(item.call_id, str) or not item.call_id:
        raise missing(f"{where}.call_id")
    return item.call_id


def _name(item: wire.InputItem, where: str) -> str:
    if item.name is UNSET:
        raise missing(f"{where}.name")
    return item.name


def _message(item: wire.InputItem, where: str, out: Conversation) -> None:
    role = item.role
    if role is UNSET:
        raise missing(f"{where}.role")
    if role not in _ROLES:
        raise invalid_request(
            f"Invalid value: '{role}'. Supported values are: 'user', 'assistant', 'system', and 'developer'.",
            param=f"{where}.role",
        )
    content = item.content
    if content is UNSET or content is None:
        raise missing(f"{where}.content")
    if isinstance(content, str):
        if content:
            if role in ("system", "developer"):
                out.system.append(TextBlock(text=content))
            else:
                out.add(_CONVERSATION_ROLES[role], TextBlock(text=content))
        return
    for j, raw in enumerate(content):
        path = f"{where}.content[{j}]"
        part: wire.Part = decode_at(_part, raw, path)
        if role in ("system", "developer"):
            if part.type not in _TEXT_PARTS:
                raise invalid_request(
                    f"System and developer messages take only text; '{part.type}' is not supported there.",
                    param=f"{path}.type",
                )
            if text := _part_text(part, path):
                out.system.append(TextBlock(text=text))
            continue
        block = _block(part, raw, path)
        if block is not None:
            out.add(_CONVERSATION_ROLES[role], block)


def _part_text(part: wire.Part, path: str) -> str:
    if part.text is UNSET:
        raise missing(f"{path}.text")
    return part.text


def _block(part: wire.Part, raw: msgspec.Raw, path: str) -> AnyBlock | None:
    """The IR block of a content part (None for an empty text)."""
    match part.type:
        case "input_text" | "output_text":
            text = _part_text(part, path)
            return TextBlock(text=text) if text else None
        case "refusal":
            if part.refusal is UNSET:
                raise missing(f"{path}.refusal")
            return TextBlock(text=part.refusal) if part.refusal else None
        case "input_image" if isinstance(part.image_url, str):
            return _image(part.image_url, part.detail)
        case "input_image" if not isinstance(part.file_id, str):
            raise missing(f"{path}.image_url")
        case "input_file" if isinstance(part.file_data, str) or isinstance(part.file_id, str):
            return _file(part)
        case _:
            return OpaqueBlock(protocol=PROTOCOL, kind=part.type, data=raw)


def _image(url: str, detail: str | None | msgspec.UnsetType) -> ImageBlock:
    hint = detail if isinstance(detail, str) else UNSET
    if url.startswith("data:"):
        header, comma, data = url[5:].partition(",")
        if comma and header.endswith(";base64"):
            return ImageBlock(data=data, media_type=header.partition(";")[0], detail=hint)
    return ImageBlock(url=url, detail=hint)


class _FileData(msgspec.Struct, omit_defaults=True):
    file_data: str | msgspec.UnsetType = UNSET
    file_id: str | msgspec.UnsetType = UNSET
    filename: str | msgspec.UnsetType = UNSET


class _FilePart(msgspec.Struct, tag_field="type", tag="file"):
    file: _FileData


def _file(part: wire.Part) -> OpaqueBlock:
    """An ``input_file`` as Chat Completions' ``file`` part (same ``file_data`` data URL)."""
    data = _FileData(
        file_data=part.file_data if isinstance(part.file_data, str) else UNSET,
        file_id=part.file_id if isinstance(part.file_id, str) else UNSET,
        filename=part.filename if isinstance(part.filename, str) else UNSET,
    )
    return OpaqueBlock(protocol="openai", kind="file", data=msgspec.Raw(_encode(_FilePart(file=data))))


def _output(output: str | list[msgspec.Raw] | None | msgspec.UnsetType, path: str) -> list[AnyBlock]:
    """A tool output: a string, or input_text / input_image / input_file parts."""
    if output is UNSET or output is None:
        raise missing(path)
    if isinstance(output, str):
        return [TextBlock(text=output)] if output else []
    blocks: list[AnyBlock] = []
    for k, raw in enumerate(output):
        block = _block(decode_at(_part, raw, f"{path}[{k}]"), raw, f"{path}[{k}]")
        if block is not None:
            blocks.append(block)
    return blocks
