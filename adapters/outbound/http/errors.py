"""Transport failures as GatewayErrors, worded the same whichever client library failed.

Messages name the provider and the library's reason, with any URL cut to its scheme and host
(no credentials, path or query string, where a key could sit) and without the raw bytes a
library quotes from the upstream's answer (h11's "illegal header line: b'...'").
"""

from __future__ import annotations

import re

from domain.errors import ErrorKind, GatewayError

_URL_IN_TEXT = re.compile(r"(https?://)(?:[^\s/@]*@)?([^\s/?#'\"\])]+)[^\s'\"\])]*")
_QUOTED_BYTES = re.compile(r"\s*:?\s*(?:bytearray\()?\bb(['\"]).*")  # a bytes repr, and all after it


def reason(exc: BaseException) -> str:
    """The first line of an exception's text (or its type), URLs reduced to scheme and host."""
    text = _QUOTED_BYTES.sub("", str(exc).split("\n", 1)[0]).strip() or type(exc).__name__
    return _URL_IN_TEXT.sub(r"\1\2", text)


def unavailable(name: str, exc: BaseException) -> GatewayError:
    message = f"Provider '{name}' is unreachable: {reason(exc)}"
    return GatewayError(ErrorKind.UNAVAILABLE, message, provider=name)


def timed_out(name: str, seconds: float) -> GatewayError:
    message = f"Provider '{name}' did not answer within {seconds:g} s"
    return GatewayError(ErrorKind.TIMEOUT, message, provider=name)


def unreachable(error: GatewayError) -> GatewayError:
    """``error``, marked as met while connecting: the provider itself cannot be reached."""
    error.unreachable = True
    return error


def unusable_url(name: str, exc: BaseException) -> GatewayError:
    message = f"Provider '{name}' has an unusable URL: {reason(exc)}"
    return GatewayError(ErrorKind.CONFIGURATION, message, provider=name)


def unreadable(name: str, exc: BaseException) -> GatewayError:
    message = f"Provider '{name}' sent an unreadable response: {reason(exc)}"
    return GatewayError(ErrorKind.PROTOCOL, message, provider=name)


def closed_early(name: str, *, answered: bool, detail: str = "") -> GatewayError:
    """The upstream closed the connection without answering, or before its answer ended."""
    what = "before its response ended" if answered else "without answering"
    suffix = f" ({detail})" if detail else ""
    message = f"Provider '{name}' closed the connection {what}{suffix}"
    return GatewayError(ErrorKind.UNAVAILABLE, message, provider=name)
