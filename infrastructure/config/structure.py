"""Every structural problem of a config document at once: unknown keys, missing required keys,
wrong types, values outside an enum, unset variables.

msgspec stops at the first problem; this walks the parsed YAML against the schema's structs
itself and reports them all, each with its key path. It also returns the document cleaned of
what it could drop without changing the meaning of the rest (unknown keys, invalid optional
scalar values, whose defaults then apply), so that the cross-field rules can still be checked
in the same run. A value it had to drop that was not a scalar (a list, a mapping, a required
key) makes the document ``complete=False``: cross-field rules on it would only repeat the
problem in other words.
"""

from __future__ import annotations

import difflib
import types
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

import msgspec

_SCALARS: dict[type, str] = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
_KINDS: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
                           int: "a number", float: "a number", type(None): "nothing (null)"}


@dataclass(frozen=True)
class Unset:
    """A value whose ``${VAR}`` names an unset variable without a default."""

    names: tuple[str, ...]


@dataclass
class Structure:
    problems: list[str] = field(default_factory=list)
    cleaned: Any = None
    complete: bool = True  # the cleaned document holds every required value
    dropped: list[str] = field(default_factory=list)  # paths of values removed from it


def examine(
    data: dict[str, Any], schema: type[msgspec.Struct], sources: dict[str, str] | None = None
) -> Structure:
    """The problems of ``data`` (a parsed YAML mapping) against ``schema``.

    ``sources`` names where an overridden value came from (``{"server.port": "GATEWAY_PORT"}``);
    a problem at such a path says so.
    """
    walker = _Walker(sources or {})
    ok, cleaned = walker.value(data, schema, "")
    result = walker.result
    result.cleaned = cleaned if ok else None
    result.complete = result.complete and ok
    return result


class _Walker:
    def __init__(self, sources: dict[str, str]) -> None:
        self.sources = sources
        self.result = Structure()

    def problem(self, path: str, message: str) -> None:
        where = path or "(top level)"
        if path in self.sources:
            where = f"{path} (from {self.sources[path]})"
        self.result.problems.append(f"{where}: {message}")

    def value(self, value: Any, tp: Any, path: str) -> tuple[bool, Any]:
        """(valid, the value with what could be dropped removed)."""
        if isinstance(value, Unset):
            self.problem(path, f"environment variable {', '.join(value.names)} is not set and has no default")
            return False, None
        if _is_struct(tp):
            return self.struct_of(value, [tp], path)
        origin = get_origin(tp)
        if origin is list:
            return self.sequence(value, get_args(tp)[0], path)
        if origin is dict:
            return self.mapping(value, get_args(tp)[1], path)
        if origin in (Union, types.UnionType):
            options = get_args(tp)
            if value is None and type(None) in options:
                return True, value
            structs = [option for option in options if _is_struct(option)]
            if isinstance(value, dict) and structs:
                return self.struct_of(value, structs, path)
        return self.leaf(value, tp, path)

    def struct_of(self, value: Any, structs: list[type[msgspec.Struct]], path: str) -> tuple[bool, Any]:
        """``value`` as the one of ``structs`` it is: for tagged structs (a provider entry,
        whose ``type`` names its kind), the one its tag names."""
        tag_field = structs[0].__struct_config__.tag_field
        if tag_field is None or not isinstance(value, dict):
            return self.struct(value, structs[0], path)
        by_tag = {cls.__struct_config__.tag: cls for cls in structs}
        where = _join(path, tag_field)
        if tag_field not in value:
            self.problem(where, "required, but missing")
            return False, None
        cls = by_tag.get(value[tag_field])
        if cls is None:
            self.problem(where, _not_one_of(value[tag_field], list(by_tag)))
            return False, None
        ok, cleaned = self.struct(value, cls, path, tagged=by_tag)
        if ok:
            cleaned[tag_field] = value[tag_field]
        return ok, cleaned

    def struct(
        self,
        value: Any,
        cls: type[msgspec.Struct],
        path: str,
        tagged: dict[Any, type[msgspec.Struct]] | None = None,
    ) -> tuple[bool, Any]:
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping, got {_kind(value)}")
            return False, None
        fields = {f.encode_name: f for f in msgspec.structs.fields(cls)}
        tag_field = cls.__struct_config__.tag_field if tagged else None
        ok, cleaned = True, {}
        for key in value:
            if key not in fields and key != tag_field and cls.__struct_config__.forbid_unknown_fields:
                retired = getattr(cls, "retired_keys", {}).get(key)
                known = [tag_field, *fields] if tag_field else list(fields)
                message = retired or _of_another(key, cls, tagged) or _unknown(str(key), known)
                self.problem(_join(path, key), message)
        for name, info in fields.items():
            where = _join(path, name)
            if name not in value:
                if info.required:
                    self.problem(where, "required, but missing")
                    ok = False
                continue
            valid, item = self.value(value[name], info.type, where)
            if valid:
                cleaned[name] = item
            elif info.required:
                ok = False
            else:
                self.result.dropped.append(where)
                if not is_scalar(info.type):
                    self.result.complete = False
        return ok, cleaned

    def sequence(self, value: Any, item_type: Any, path: str) -> tuple[bool, Any]:
        if not isinstance(value, list):
            self.problem(path, f"expected a list, got {_kind(value)}")
            return False, None
        results = [self.value(item, item_type, f"{path}[{i}]") for i, item in enumerate(value)]
        return all(ok for ok, _ in results), [item for _, item in results]

    def mapping(self, value: Any, value_type: Any, path: str) -> tuple[bool, Any]:
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping, got {_kind(value)}")
            return False, None
        results = {k: self.value(v, value_type, _join(path, k)) for k, v in value.items()}
        return all(ok for ok, _ in results.values()), {k: item for k, (_, item) in results.items()}

    def leaf(self, value: Any, tp: Any, path: str) -> tuple[bool, Any]:
        try:
            msgspec.convert(value, tp, strict=False)
        except msgspec.ValidationError as exc:
            self.problem(path, _leaf_message(value, tp, str(exc)))
            return False, None
        return True, value


def _not_one_of(value: Any, allowed: list[Any]) -> str:
    plain = isinstance(value, (str, int, float, bool)) and len(repr(value)) <= 40
    shown = repr(value) if plain else _kind(value)
    return f"{shown} is not one of: {', '.join(str(a) for a in allowed)}"


def _of_another(key: Any, cls: type[msgspec.Struct], tagged: dict[Any, type[msgspec.Struct]] | None) -> str:
    """For a key of a tagged struct that belongs to another tag's struct: which one."""
    if not tagged:
        return ""
    owners = [tag for tag, other in tagged.items() if other is not cls and key in other.__struct_fields__]
    if not owners:
        return ""
    field = cls.__struct_config__.tag_field
    kinds = " or ".join(map(str, owners))
    return f"a key of {field} {kinds} only, not of {field} {cls.__struct_config__.tag}"


def _leaf_message(value: Any, tp: Any, fallback: str) -> str:
    allowed = _literal_values(tp)
    if allowed:
        return _not_one_of(value, allowed)
    options = get_args(tp) if get_origin(tp) in (Union, types.UnionType) else (tp,)
    expected = [_SCALARS[o] for o in options if o in _SCALARS]
    if any(_is_struct(o) for o in options):
        expected.append("a mapping")
    if expected:
        optional = " (or nothing)" if type(None) in options else ""
        return f"expected {' or '.join(expected)}{optional}, got {_kind(value)}"
    return fallback.split(" - at `$", 1)[0]


def _literal_values(tp: Any) -> list[Any]:
    if get_origin(tp) is Literal:
        return list(get_args(tp))
    if get_origin(tp) in (Union, types.UnionType):
        return [v for option in get_args(tp) for v in _literal_values(option)]
    return []


def _unknown(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean '{close[0]}'?)"
    return f"unknown key (known here: {', '.join(known)})"


def _kind(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return _KINDS.get(type(value), type(value).__name__)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def is_scalar(tp: Any) -> bool:
    if get_origin(tp) in (Union, types.UnionType):
        return all(is_scalar(option) for option in get_args(tp))
    return tp in _SCALARS or tp is type(None) or get_origin(tp) is Literal
