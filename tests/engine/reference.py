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


@dataclass(frozen=True)
class _Book:
    """The positions, one entry per position."""

    market: np.ndarray
    size: np.ndarray
    entry_price: np.ndarray
    collateral: np.ndarray

    def equity(self, i: int, price: float) -> float:
        return float(self.collateral[i] + self.size[i] * (price - self.entry_price[i]))


@dataclass(frozen=True)
class _Rules:
    """Per-market rates and depth, and the liquidation mechanics."""

    mmr: list[float]
    penalty: list[float]
    depth: list[float]
    impact: str
    impact_coefficient: float
    cascade: bool
    delay: int
    max_rounds: int


@dataclass
class _PathState:
    """What one path remembers across steps: when each position was flagged, whether it was executed,
    and how far each market's price has been pushed by earlier liquidations."""

    flagged_at: list[int]
    executed: list[bool]
    displacement: list[float]


@dataclass
class _StepFlows:
    """Bad debt and penalties of one step, summed over its markets in order."""

    bad_debt: float = 0.0
    penalties: float = 0.0


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
    book = _Book(market=market, size=size, entry_price=entry_price, collateral=collateral)
    rules = _Rules(
        mmr=mmr,
        penalty=penalty,
        depth=depth,
        impact=impact,
        impact_coefficient=impact_coefficient,
        cascade=cascade,
        delay=delay,
        max_rounds=max_rounds,
    )
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
        state = _PathState(
            flagged_at=[-1] * n_positions, executed=[False] * n_positions, displacement=[1.0] * n_markets
        )
        fund = fund_balance
        net_flow = 0.0  # penalties minus bad debt so far, without the floor at zero
        for t in range(n_times):
            flows = _StepFlows()
            for m in range(n_markets):
                _market_step(book, rules, state, out, flows, path=path, t=t, m=m, prices=prices)
            bad_debt_now, penalties_now = flows.bad_debt, flows.penalties
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


def _market_step(
    book: _Book,
    rules: _Rules,
    state: _PathState,
    out: ReferenceOutcome,
    flows: _StepFlows,
    *,
    path: int,
    t: int,
    m: int,
    prices: np.ndarray,
) -> None:
    """Flag and execute market `m` at step `t`, cascade rounds included, adding its losses and fees to `flows`."""
    last_step = prices.shape[1] - 1
    price = prices[path, t, m] * state.displacement[m]
    rounds = 0
    while True:
        _flag(book, rules, state, t=t, m=m, price=price)
        due = [
            i
            for i in range(len(book.size))
            if book.market[i] == m
            and state.flagged_at[i] >= 0
            and not state.executed[i]
            and (state.flagged_at[i] + rules.delay <= t or t == last_step)
        ]
        if not due:
            break
        long_notional = sum(abs(book.size[i]) * price for i in due if book.size[i] > 0)
        short_notional = sum(abs(book.size[i]) * price for i in due if book.size[i] < 0)
        gross = long_notional + short_notional
        impact_now = _impact(rules.impact, rules.impact_coefficient, gross, rules.depth[m])
        for i in due:
            loss, fee = _execute(book, rules, i, m=m, price=price, impact_now=impact_now)
            out.bad_debt[path] += loss
            out.bad_debt_by_market[path, m] += loss
            out.penalty_income[path] += fee
            flows.bad_debt += loss
            flows.penalties += fee
            state.executed[i] = True
        out.liquidated_notional[path] += gross
        out.liquidated_positions[path] += len(due)
        if not rules.cascade or impact_now == 0.0:
            break
        move = 1 - impact_now * (long_notional - short_notional) / gross
        price *= move
        state.displacement[m] *= move
        rounds += 1
        if rounds >= rules.max_rounds:
            break


def _flag(book: _Book, rules: _Rules, state: _PathState, *, t: int, m: int, price: float) -> None:
    """Flag, at step `t`, every unflagged position of market `m` whose equity is below maintenance at `price`."""
    for i in range(len(book.size)):
        if book.market[i] != m or state.flagged_at[i] >= 0:
            continue
        if book.equity(i, price) < rules.mmr[m] * abs(book.size[i]) * price:
            state.flagged_at[i] = t


def _execute(book: _Book, rules: _Rules, i: int, *, m: int, price: float, impact_now: float) -> tuple[float, float]:
    """Close position `i` at the impacted price; returns its (bad debt, penalty)."""
    x = price * (1 - impact_now) if book.size[i] > 0 else price * (1 + impact_now)
    equity_at_x = book.equity(i, x)
    loss = max(0.0, -equity_at_x)
    fee = min(rules.penalty[m] * abs(book.size[i]) * x, max(0.0, equity_at_x))
    return loss, fee
