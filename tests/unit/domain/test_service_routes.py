"""``ChatService.route`` remembers resolved routes per model name, within a bound."""

from __future__ import annotations

import pytest

from domain import service as service_module
from domain.errors import ErrorKind, GatewayError
from domain.routing import Destination, RoutingTable, Rule, resolve
from domain.service import ChatService

TABLE = RoutingTable.build(
    exact={}, prefixes=[], prefix_providers={}, rules=[Rule(model_prefix="gpt", destination=Destination.single("oa"))],
    default=None,
)  # fmt: skip


def test_a_repeated_model_gets_the_remembered_route() -> None:
    chat = ChatService(TABLE, {})

    first = chat.route("gpt-4o")

    assert chat.route("gpt-4o") is first
    assert first == resolve(TABLE, "gpt-4o")


def test_an_unroutable_model_is_refused_every_time() -> None:
    chat = ChatService(TABLE, {})
    for _ in range(2):
        with pytest.raises(GatewayError) as caught:
            chat.route("claude-3")
        assert caught.value.kind is ErrorKind.NOT_FOUND


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "ROUTE_MEMO_LIMIT", 3)
    chat = ChatService(TABLE, {})

    for n in range(10):
        assert chat.route(f"gpt-{n}").targets[0].model == f"gpt-{n}"

    assert len(chat._routes) <= 3
