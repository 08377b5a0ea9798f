"""Vectorised aggregates against a plain loop over positions in Decimal."""

from decimal import Decimal as D

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgov.markets.domain.exposure_aggregates import SHOCKS, PositionArrays, aggregate_exposure
from riskgov.markets.domain.position_math import INFINITY, position_risk

position = st.tuples(
    st.decimals(min_value=D("0.01"), max_value=D(1000), places=2),  # quantity
    st.booleans(),  # long
    st.decimals(min_value=D(50), max_value=D(150), places=2),  # entry
    st.decimals(min_value=D("1.1"), max_value=D(60), places=1),  # leverage at entry
    st.integers(min_value=0, max_value=7),  # account
)


def reference(rows, price: D, mmr: D):
    """Loop over positions: the obviously-correct aggregate."""
    oi_long = oi_short = collateral = liquidatable_notional = D(0)
    near: dict[str, list] = {"5": [0, D(0)], "10": [0, D(0)], "20": [0, D(0)]}
    by_account: dict[int, D] = {}
    leverages = []
    for quantity, long, entry, lev, account in rows:
        size = quantity if long else -quantity
        c = quantity * entry / lev
        risk = position_risk(size=size, entry_price=entry, collateral=c, price=price, mmr=mmr)
        if long:
            oi_long += risk.notional
        else:
            oi_short += risk.notional
        collateral += c
        by_account[account] = by_account.get(account, D(0)) + risk.notional
        if risk.liquidatable:
            liquidatable_notional += risk.notional
        for band, entry_ in near.items():
            if risk.distance_to_liquidation < D(band) / 100:
                entry_[0] += 1
                entry_[1] += risk.notional
        leverages.append(risk.leverage)
    shock = {}
    for move in SHOCKS:
        p = price * (1 + D(repr(move)))
        total = D(0)
        for quantity, long, entry, lev, _ in rows:
            size = quantity if long else -quantity
            total += max(D(0), -(quantity * entry / lev + size * (p - entry)))
        shock[f"{move * 100:g}"] = total
    total_notional = sum(by_account.values())
    shares = sorted((v / total_notional for v in by_account.values()), reverse=True)
    return {
        "oi_long": oi_long,
        "oi_short": oi_short,
        "collateral": collateral,
        "liquidatable_notional": liquidatable_notional,
        "near": near,
        "shock": shock,
        "top10": sum(shares[:10]),
        "hhi": sum(s * s for s in shares),
        "leverages": sorted(leverages),
    }


def close(a: float, b: D, rel: float = 1e-9) -> bool:
    return abs(a - float(b)) <= rel * max(1.0, abs(float(b)))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(position, min_size=1, max_size=40),
    price=st.decimals(min_value=D(40), max_value=D(160), places=2),
    mmr=st.decimals(min_value=D("0.005"), max_value=D("0.1"), places=3),
)
def test_aggregates_equal_loop_over_positions(rows, price, mmr):
    arrays = PositionArrays(
        size=np.array([float(q if long else -q) for q, long, *_ in rows]),
        entry_price=np.array([float(e) for _, _, e, _, _ in rows]),
        collateral=np.array([float(q * e / lev) for q, _, e, lev, _ in rows]),
        account=np.array([a for *_, a in rows], dtype=np.int64),
        price=np.full(len(rows), float(price)),
        mmr=np.full(len(rows), float(mmr)),
    )
    got = aggregate_exposure(arrays)
    want = reference(rows, price, mmr)
    assert close(got.oi_long, want["oi_long"])
    assert close(got.oi_short, want["oi_short"])
    assert close(got.collateral, want["collateral"])
    assert close(got.liquidatable_notional, want["liquidatable_notional"], 1e-8)
    for band, (count, amount) in want["near"].items():
        assert got.near_liquidation[band]["count"] == count
        assert close(got.near_liquidation[band]["notional"], amount, 1e-8)
    for key, amount in want["shock"].items():
        assert abs(got.shock_bad_debt[key] - float(amount)) <= 1e-7 * max(1.0, float(want["collateral"]))
    assert close(got.top10_share, want["top10"])
    assert close(got.hhi, want["hhi"])
    median = want["leverages"][int(np.ceil(0.5 * len(rows))) - 1]  # inverted CDF
    assert (got.leverage_p50 == float("inf")) if median == INFINITY else close(got.leverage_p50, median, 1e-9)
    assert sum(got.leverage_histogram["counts"]) == len(rows)


def test_liquidation_map_is_cumulative_and_one_sided():
    arrays = PositionArrays(
        size=np.array([1.0, 1.0, -1.0]),
        entry_price=np.array([100.0, 100.0, 100.0]),
        collateral=np.array([10.0, 50.0, 10.0]),
        account=np.array([1, 2, 3]),
        price=np.full(3, 100.0),
        mmr=np.full(3, 0.05),
    )
    result = aggregate_exposure(arrays).liquidation_map
    moves, amounts = result["moves_pct"], result["notional"]
    # Long with 10 collateral: liquidation at 90/0.95 = 94.74 → a 5.26 % fall; the short at 110/1.05 → +4.76 %.
    assert amounts[moves.index(-4.0)] == 0.0
    assert amounts[moves.index(-6.0)] == 100.0
    assert amounts[moves.index(-50.0)] == 200.0  # the 2x long (liq 52.6) joins past −47.4 %
    assert amounts[moves.index(4.0)] == 0.0 and amounts[moves.index(6.0)] == 100.0
    downs = [a for m, a in zip(moves, amounts, strict=True) if m < 0]
    assert downs == sorted(downs, reverse=True)
