"""A slow, obviously-correct reference: loops over paths, steps, markets and positions.

Written from the mechanics in the issue and DESIGN.md, independently of the fast engine's
ladder and prefix sums: every position carries its own state (flag step, executed or not) and
every check evaluates equity < mmr × notional directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

IMPACT_CAP = 0.99


@dataclass
class ReferenceOutcome:
    """Per-path outcomes, same meaning as the engine's SimulationResult fields."""

    bad_debt: np.ndarray
    penalty_income: np.ndarray
    bad_debt_by_market: np.ndarray
    uncovered_loss: np.ndarray
    liquidated_notional: np.ndarray
    liquidated_positions: np.ndarray
    fund_end: np.ndarray
    exhausted: np.ndarray
    fund_path: np.ndarray
    required_fund: np.ndarray


def _impact(mode: str, coefficient: float, notional: float, depth: float) -> float:
    if mode == "none":
        return 0.0
    if mode == "linear":
        return min(IMPACT_CAP, coefficient * notional / depth)
    return min(IMPACT_CAP, coefficient * math.sqrt(notional / depth))


def reference_simulate(
    *,
    market: np.ndarray,
    size: np.ndarray,
    entry_price: np.ndarray,
    collateral: np.ndarray,
    mmr: list[float],
    penalty: list[float],
    depth: list[float],
    prices: np.ndarray,
    impact: str,
    impact_coefficient: float,
    cascade: bool,
    delay: int,
    max_rounds: int,
    fund_balance: float,
) -> ReferenceOutcome:
    """Liquidate the positions along explicit `prices` (paths, steps + 1, markets)."""
    n_paths, n_times, n_markets = prices.shape
    last_step = n_times - 1
    n_positions = len(size)
    out = ReferenceOutcome(
        bad_debt=np.zeros(n_paths),
        penalty_income=np.zeros(n_paths),
        bad_debt_by_market=np.zeros((n_paths, n_markets)),
        uncovered_loss=np.zeros(n_paths),
        liquidated_notional=np.zeros(n_paths),
        liquidated_positions=np.zeros(n_paths, dtype=np.int64),
        fund_end=np.zeros(n_paths),
        exhausted=np.zeros(n_paths, dtype=bool),
        fund_path=np.zeros((n_paths, n_times)),
        required_fund=np.zeros(n_paths),
    )
    for path in range(n_paths):
        flagged_at = [-1] * n_positions
        executed = [False] * n_positions
        displacement = [1.0] * n_markets
        fund = fund_balance
        net_flow = 0.0  # penalties minus bad debt so far, without the floor at zero
        for t in range(n_times):
            bad_debt_now = 0.0
            penalties_now = 0.0
            for m in range(n_markets):
                price = prices[path, t, m] * displacement[m]
                rounds = 0
                while True:
                    for i in range(n_positions):
                        if market[i] != m or flagged_at[i] >= 0:
                            continue
                        equity = collateral[i] + size[i] * (price - entry_price[i])
                        if equity < mmr[m] * abs(size[i]) * price:
                            flagged_at[i] = t
                    due = [
                        i
                        for i in range(n_positions)
                        if market[i] == m
                        and flagged_at[i] >= 0
                        and not executed[i]
                        and (flagged_at[i] + delay <= t or t == last_step)
                    ]
                    if not due:
                        break
                    long_notional = sum(abs(size[i]) * price for i in due if size[i] > 0)
                    short_notional = sum(abs(size[i]) * price for i in due if size[i] < 0)
                    gross = long_notional + short_notional
                    impact_now = _impact(impact, impact_coefficient, gross, depth[m])
                    for i in due:
                        x = price * (1 - impact_now) if size[i] > 0 else price * (1 + impact_now)
                        equity_at_x = collateral[i] + size[i] * (x - entry_price[i])
                        loss = max(0.0, -equity_at_x)
                        fee = min(penalty[m] * abs(size[i]) * x, max(0.0, equity_at_x))
                        out.bad_debt[path] += loss
                        out.bad_debt_by_market[path, m] += loss
                        out.penalty_income[path] += fee
                        bad_debt_now += loss
                        penalties_now += fee
                        executed[i] = True
                    out.liquidated_notional[path] += gross
                    out.liquidated_positions[path] += len(due)
                    if not cascade or impact_now == 0.0:
                        break
                    move = 1 - impact_now * (long_notional - short_notional) / gross
                    price *= move
                    displacement[m] *= move
                    rounds += 1
                    if rounds >= max_rounds:
                        break
            net_flow += penalties_now - bad_debt_now
            out.required_fund[path] = max(out.required_fund[path], -net_flow)
            fund = fund + penalties_now - bad_debt_now
            if fund < 0:
                out.uncovered_loss[path] += -fund
                out.exhausted[path] = True
                fund = 0.0
            out.fund_path[path, t] = fund
        out.fund_end[path] = fund
    return out
