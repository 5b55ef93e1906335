"""How deep the arrays and objects of a JSON text nest, checked without parsing it.

Every JSON decoder and every walk over a decoded value recurses once per level; a text nested
thousands deep makes them fail (RecursionError) or, on a thread with a small stack, crash. So
texts from outside are checked against ``MAX_DEPTH`` before anything parses them.

The check is linear and runs in C for all but pathological texts: escaped quotes and
backslashes go (one regular-expression pass), then everything but quotes and brackets (one
``translate``); strings are taken out, and the brackets left are paired off a level per pass,
or summed up (+1 / -1) when that would take long.
"""

from __future__ import annotations

import re
from itertools import accumulate

MAX_DEPTH = 128  # arrays and objects inside one another

_CHUNK = 1 << 20  # bytes of skeleton looked at in one step: bounds the memory and each C call
_QUICK_PASSES = 16
_SMALL = 4096  # bytes: below this, counting brackets is cheaper than taking strings out

_ESCAPED_QUOTE_OR_BACKSLASH = re.compile(rb'\\[\\"]')
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_STEPS = bytes.maketrans(b"[]", b"\x01\xff")  # +1 / -1 as signed bytes
_STRING = re.compile(rb'"[^"]*"')


def nests_deeper(text: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the arrays and objects of ``text`` (JSON) nest deeper than ``limit``. Brackets
    inside strings do not count; for text that is not JSON the answer means nothing."""
    if len(text) < _SMALL and text.count(b"[") + text.count(b"{") <= limit:
        return False
    # Without escaped quotes and backslashes, every quote left starts or ends a string; keep
    # only quotes and brackets (all as "[" and "]").
    skeleton = _ESCAPED_QUOTE_OR_BACKSLASH.sub(b"", text).translate(_AS_SQUARE, _NOT_STRUCTURE)
    if skeleton.count(b"[") <= limit:
        return False
    # Dropping two adjacent quotes (an empty string, or the end of one string and the start of
    # the next) moves no bracket in or out of a string.
    skeleton = skeleton.replace(b'""', b"")
    brackets = _outside_strings(skeleton) if b'"' in skeleton else skeleton
    # The usual broad, shallow text: each pass takes out the innermost pairs, most of them.
    rest = brackets
    for _ in range(min(_QUICK_PASSES, limit)):
        shorter = rest.replace(b"[]", b"")
        if not shorter:
            return False  # as deep as the passes made
        if len(shorter) > len(rest) * 3 // 4:
            break  # deep or unbalanced: sum up
        rest = shorter
    return _deepest(brackets, limit) > limit


def _outside_strings(skeleton: bytes) -> bytes:
    """The brackets of a quotes-and-brackets skeleton that are not inside a string."""
    parts: list[bytes] = []
    inside = False
    for start in range(0, len(skeleton), _CHUNK):
        chunk = skeleton[start : start + _CHUNK]
        if b'"' not in chunk:
            if not inside:
                parts.append(chunk)
            continue
        if inside:  # a string continues from the chunk before
            chunk = b'"' + chunk
        inside = chunk.count(b'"') % 2 == 1
        if inside:  # and goes on into the next one
            chunk += b'"'
        parts.append(_STRING.sub(b"", chunk))
    return b"".join(parts)


def _deepest(brackets: bytes, limit: int) -> int:
    """The deepest nesting of a run of brackets, or the first depth past ``limit``."""
    depth = peak = 0
    steps = memoryview(brackets.translate(_STEPS)).cast("b")
    for start in range(0, len(steps), _CHUNK):
        sums = list(accumulate(steps[start : start + _CHUNK], initial=depth))
        peak = max(peak, max(sums))
        if peak > limit:
            break
        depth = sums[-1]
    return peak
