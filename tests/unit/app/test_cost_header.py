"""``x-gateway-cost-usd``: plain decimals, never an exponent, no trailing zeros."""

from __future__ import annotations

import pytest

from app.middleware import cost_header


@pytest.mark.parametrize(
    ("cost", "header"),
    [(0.0, b"0"), (0.0003675, b"0.0003675"), (5.025e-05, b"0.00005025"), (1e-10, b"0.0000000001"),
     (2.0, b"2"), (12.5, b"12.5")],
)
def test_costs_are_written_in_plain_decimals(cost: float, header: bytes) -> None:
    assert cost_header(cost) == header
