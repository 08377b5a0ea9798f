from __future__ import annotations

from decimal import Decimal

import pytest

from chain.units import from_fixed, market_id, market_symbol, to_fixed


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (Decimal("1.5"), 18, 1_500_000_000_000_000_000),
        (Decimal("3000"), 8, 300_000_000_000),
        ("0.000000000000000001", 18, 1),
        (Decimal("-2.25"), 18, -2_250_000_000_000_000_000),
        (7, 0, 7),
    ],
)
def test_to_fixed(value: Decimal | str | int, decimals: int, expected: int) -> None:
    assert to_fixed(value, decimals) == expected
    assert from_fixed(expected, decimals) == Decimal(value)


def test_from_fixed_is_exact_for_uint256() -> None:
    big = 2**256 - 1
    assert to_fixed(from_fixed(big)) == big


def test_market_id_round_trip() -> None:
    encoded = market_id("ETH-USD")
    assert len(encoded) == 32 and encoded.startswith(b"ETH-USD\x00")
    assert market_symbol(encoded) == "ETH-USD"


@pytest.mark.parametrize("symbol", ["", "X" * 33, "ÉTH", "A\x00B"])
def test_market_id_rejects_bad_symbols(symbol: str) -> None:
    with pytest.raises(ValueError):
        market_id(symbol)
