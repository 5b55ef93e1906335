"""``/schema`` serves the OpenAPI document itself: no UI page that loads third-party scripts."""

from __future__ import annotations

import msgspec
import pytest
from litestar.testing import AsyncTestClient


@pytest.mark.parametrize("path", ["/schema", "/schema/openapi.json"])
async def test_the_schema_is_the_openapi_json_document(gateway: AsyncTestClient, path: str) -> None:
    response = await gateway.get(path)
    assert response.status_code == 200
    assert "json" in response.headers["content-type"]
    document = msgspec.json.decode(response.content)
    assert document["info"]["title"] == "poly-llm-gateway"
    assert b"<script" not in response.content and b"cdn." not in response.content


@pytest.mark.parametrize("ui", ["swagger", "redoc", "elements", "rapidoc", "scalar"])
async def test_no_documentation_ui_is_served(gateway: AsyncTestClient, ui: str) -> None:
    assert (await gateway.get(f"/schema/{ui}")).status_code == 404
