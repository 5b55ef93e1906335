"""Upstream answers scripted per URL, served by the fake upstream on loopback: the integration
suite drives the gateway with each outbound HTTP client, the default one included.

``UpstreamMock`` keeps pytest-httpx's vocabulary (``add_response``, ``add_exception``,
``get_requests``) and its rules: each scripted answer serves one request to its URL, in the
order added, and when the test ends every answer was used and no request came unscripted.
A provider's ``base_url`` on a made-up host (``http://openai.test/v1``) is served under a path
of that name (``<fake url>/openai.test/v1``; ``route_hosts`` rewrites a config).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec

from tests.fakes.upstream import FakeUpstream, RecordedRequest, Refuse, Reply, Stall, Stream

Failure = Literal["unreachable", "timeout"]
UNREACHABLE: Failure = "unreachable"  # the connection closes without an answer
TIMEOUT: Failure = "timeout"  # no answer before the provider's read timeout
_STALL_SECONDS = 30.0  # longer than any provider's timeouts here; cut short when the client leaves
_URL = re.compile(r"http://([a-z0-9.-]+\.test)")


class SentRequest:
    """A request the upstream received, read like pytest-httpx's ``httpx.Request``."""

    def __init__(self, recorded: RecordedRequest) -> None:
        self.method = recorded.method
        self.url = recorded.path
        self.headers = recorded.headers  # lower-case names
        self.content = recorded.body


class UpstreamMock:
    def __init__(self, fake: FakeUpstream) -> None:
        self._fake = fake
        self._scripted = 0

    def route_hosts(self, text: str) -> str:
        """``text`` (a config) with every ``http://<name>.test`` URL served by the fake."""
        return _URL.sub(lambda match: f"{self._fake.url}/{match.group(1)}", text)

    def add_response(
        self,
        *,
        url: str,
        status_code: int = 200,
        json: Any = None,
        content: bytes = b"",
        stream: Sequence[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next request to ``url`` with a body (``json`` or ``content``), or with
        ``stream``'s chunks written one by one."""
        if stream is not None:
            script: Reply | Stream = Stream(tuple(stream), status=status_code, headers=dict(headers or {}))
        else:
            body = msgspec.json.encode(json) if json is not None else content
            script = Reply(status_code, body, dict(headers or {}))
        self._script(url, script)

    def add_exception(self, failure: Failure, *, url: str) -> None:
        """Fail the next request to ``url``: ``UNREACHABLE`` or ``TIMEOUT``."""
        self._script(url, Refuse() if failure == UNREACHABLE else Stall(_STALL_SECONDS))

    def get_requests(self) -> list[SentRequest]:
        return [SentRequest(recorded) for recorded in self._fake.requests]

    def assert_all_answered(self) -> None:
        """Every scripted answer served a request, and every request had one."""
        assert self._fake.unused_scripts == 0, f"{self._fake.unused_scripts} scripted answers were not requested"
        sent = [f"{r.method} {r.path}" for r in self._fake.requests]
        assert len(sent) == self._scripted, f"requests without a scripted answer among {sent}"

    def _script(self, url: str, script: Reply | Stall | Refuse | Stream) -> None:
        match = _URL.match(url)
        assert match is not None, f"not a URL of a .test host: {url}"
        self._fake.script_for("/" + url.removeprefix("http://"), script)
        self._scripted += 1
