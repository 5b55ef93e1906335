"""Imports point one way: app -> infrastructure -> adapters -> domain (scanned with ast)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["domain", "adapters", "infrastructure", "app"]
THIRD_PARTY_IN_DOMAIN = {"msgspec"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def files(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_inward(layer: str) -> None:
    outer = set(LAYERS[LAYERS.index(layer) + 1 :])
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files(layer)
        for name in imports(path)
        if name.split(".")[0] in outer
    ]
    assert bad == []


def test_domain_imports_only_stdlib_and_msgspec() -> None:
    import sys

    stdlib = set(sys.stdlib_module_names)
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files("domain")
        for name in imports(path)
        if name.split(".")[0] not in stdlib | THIRD_PARTY_IN_DOMAIN | {"domain", "__future__"}
    ]
    assert bad == []


def test_inbound_and_outbound_adapters_never_import_each_other() -> None:
    bad = []
    for side, other in (("inbound", "adapters.outbound"), ("outbound", "adapters.inbound")):
        for path in sorted((ROOT / "adapters" / side).rglob("*.py")):
            bad += [f"{path.relative_to(ROOT)} imports {n}" for n in imports(path) if n.startswith(other)]
    assert bad == []
