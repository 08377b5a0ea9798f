"""Position formulas against hand-worked cases and properties (DESIGN.md, "Domain: exposure")."""

from decimal import Decimal as D

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgov.markets.domain.exposure_aggregates import PositionArrays, leverage_and_distance
from riskgov.markets.domain.position_math import INFINITY, equity, notional, position_risk


def test_long_1000_collateral_at_5x_is_5000_notional():
    risk = position_risk(size=D(5), entry_price=D(1000), collateral=D(1000), price=D(1000), mmr=D("0.05"))
    assert risk.notional == D(5000)
    assert risk.equity == D(1000)
    assert risk.leverage == D(5)
    assert risk.margin_ratio == D("0.2")
    # (s·e − C) / (s·(1 − mmr)) = 4000 / 4.75
    assert risk.liquidation_price == D(4000) / D("4.75")
    assert risk.bankruptcy_price == D(800)
    assert risk.distance_to_liquidation == (D(1000) - D(4000) / D("4.75")) / D(1000)
    assert not risk.liquidatable


def test_short_hand_worked_after_adverse_move():
    risk = position_risk(size=D(-5), entry_price=D(1000), collateral=D(1000), price=D(1100), mmr=D("0.05"))
    assert risk.notional == D(5500)
    assert risk.equity == D(500)  # 1000 + (−5)·(1100 − 1000)
    assert risk.leverage == D(11)
    # (C + q·e) / (q·(1 + mmr)) = 6000 / 5.25
    assert risk.liquidation_price == D(6000) / D("5.25")
    assert risk.bankruptcy_price == D(1200)
    assert not risk.liquidatable
    assert position_risk(size=D(-5), entry_price=D(1000), collateral=D(1000), price=D(1150), mmr=D("0.05")).liquidatable


def test_underwater_position_has_infinite_leverage_and_negative_distance():
    risk = position_risk(size=D(2), entry_price=D(100), collateral=D(10), price=D(90), mmr=D("0.05"))
    assert risk.equity == D(-10)
    assert risk.leverage == INFINITY
    assert risk.liquidatable
    assert risk.distance_to_liquidation < 0


def test_fully_collateralised_long_never_liquidates():
    risk = position_risk(size=D(1), entry_price=D(100), collateral=D(100), price=D(100), mmr=D("0.05"))
    assert risk.liquidation_price <= 0
    assert risk.distance_to_liquidation == INFINITY


sizes = st.decimals(min_value=D("0.001"), max_value=D(10_000), places=3)
prices = st.decimals(min_value=D("0.01"), max_value=D(200_000), places=2)
leverages = st.decimals(min_value=D("1.1"), max_value=D(100), places=1)
mmrs = st.decimals(min_value=D("0.001"), max_value=D("0.2"), places=3)


@settings(max_examples=200, deadline=None)
@given(size=sizes, entry=prices, lev=leverages, mmr=mmrs, long=st.booleans())
def test_equity_at_liquidation_price_equals_maintenance_margin(size, entry, lev, mmr, long):
    signed = size if long else -size
    collateral = size * entry / lev
    risk = position_risk(size=signed, entry_price=entry, collateral=collateral, price=entry, mmr=mmr)
    at_liq = risk.liquidation_price
    lhs = equity(signed, entry, collateral, at_liq)
    rhs = mmr * notional(signed, at_liq)
    assert abs(lhs - rhs) <= D("1e-18") * max(D(1), abs(rhs))


@settings(max_examples=200, deadline=None)
@given(size=sizes, entry=prices, lev=leverages, long=st.booleans())
def test_equity_at_bankruptcy_price_is_zero(size, entry, lev, long):
    signed = size if long else -size
    collateral = size * entry / lev
    risk = position_risk(size=signed, entry_price=entry, collateral=collateral, price=entry, mmr=D("0.01"))
    assert abs(equity(signed, entry, collateral, risk.bankruptcy_price)) <= D("1e-18") * size * entry


@settings(max_examples=100, deadline=None)
@given(
    size=sizes,
    entry=prices,
    lev=leverages,
    mmr=mmrs,
    long=st.booleans(),
    move=st.decimals(min_value=D("-0.5"), max_value=D("0.5"), places=3),
)
def test_vectorised_metrics_agree_with_decimal_formulas(size, entry, lev, mmr, long, move):
    signed = size if long else -size
    collateral = size * entry / lev
    price = entry * (1 + move)
    if price <= 0:
        return
    exact = position_risk(size=signed, entry_price=entry, collateral=collateral, price=price, mmr=mmr)
    arrays = PositionArrays(
        size=np.array([float(signed)]),
        entry_price=np.array([float(entry)]),
        collateral=np.array([float(collateral)]),
        account=np.array([1]),
        price=np.array([float(price)]),
        mmr=np.array([float(mmr)]),
    )
    n, eq, leverage, distance = (float(a[0]) for a in leverage_and_distance(arrays))
    assert np.isclose(n, float(exact.notional), rtol=1e-12)
    assert np.isclose(eq, float(exact.equity), rtol=1e-9, atol=1e-9 * float(exact.notional))
    if exact.leverage == INFINITY:
        assert np.isinf(leverage)
    elif exact.leverage < 1e6:
        assert np.isclose(leverage, float(exact.leverage), rtol=1e-6)
    if exact.distance_to_liquidation == INFINITY:
        assert np.isinf(distance)
    else:
        assert np.isclose(distance, float(exact.distance_to_liquidation), rtol=1e-9, atol=1e-12)
