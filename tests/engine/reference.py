"""A slow, obviously-correct reference: loops over paths, steps, markets and positions.

Written from the mechanics in the issue and DESIGN.md, independently of the fast engine's
ladder and prefix sums: every position carries its own state (flag step, executed or not, the
quantity auto-deleveraging left open) and every check evaluates equity < mmr × notional directly.
Auto-deleveraging (markets whose waterfall is "adl", mechanics in insurance/engine/adl.py) re-ranks
every open opposite-side position in profit by the venues' index each time a winner is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from insurance.engine.adl import HAIRCUT_BINS, HAIRCUT_EDGES

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
    adl_notional: np.ndarray
    adl_haircut: np.ndarray
    adl_over_haircut: np.ndarray
    adl_accounts: np.ndarray
    adl_haircut_max: np.ndarray
    adl_haircut_histogram: np.ndarray
    adl_haircuts: list[dict[int, float]]  # per path: winner position index -> its haircut (quote)


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

    def equity(self, i: int, price: float, remaining: float) -> float:
        """Equity of what is left open of position i (collateral shrinks with the quantity)."""
        share = remaining / abs(self.size[i])
        return float(
            share * self.collateral[i] + math.copysign(remaining, self.size[i]) * (price - self.entry_price[i])
        )


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
    waterfall: list[str]


@dataclass
class _PathState:
    """What one path remembers across steps: when each position was flagged, whether it was executed,
    and how far each market's price has been pushed by earlier liquidations."""

    flagged_at: list[int]
    executed: list[bool]
    displacement: list[float]
    remaining: list[float]
    haircuts: dict[int, float]


@dataclass(frozen=True)
class _Bankrupt:
    """A position that executed with negative equity: at which round, price and open quantity."""

    position: int
    round: int
    execution_price: float
    quantity: float
    loss: float


@dataclass
class _StepFlows:
    """Bad debt and penalties of one step, summed over its markets in order."""

    bad_debt: float = 0.0
    penalties: float = 0.0
    bad_debt_by_market: dict[int, float] | None = None
    bankrupt: dict[int, list[_Bankrupt]] | None = None
    end_price: dict[int, float] | None = None


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
    waterfall: list[str] | None = None,
) -> ReferenceOutcome:
    """Liquidate the positions along explicit `prices` (paths, steps + 1, markets).

    waterfall: per market "socialised" (default) or "adl".
    """
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
        waterfall=list(waterfall or ["socialised"] * n_markets),
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
        adl_notional=np.zeros(n_paths),
        adl_haircut=np.zeros(n_paths),
        adl_over_haircut=np.zeros(n_paths),
        adl_accounts=np.zeros(n_paths, dtype=np.int64),
        adl_haircut_max=np.zeros(n_paths),
        adl_haircut_histogram=np.zeros((n_paths, HAIRCUT_BINS), dtype=np.int64),
        adl_haircuts=[],
    )
    for path in range(n_paths):
        state = _PathState(
            flagged_at=[-1] * n_positions,
            executed=[False] * n_positions,
            displacement=[1.0] * n_markets,
            remaining=[abs(float(q)) for q in size],
            haircuts={},
        )
        fund = fund_balance
        net_flow = 0.0  # penalties minus bad debt so far, without the floor at zero
        for t in range(n_times):
            flows = _StepFlows(bad_debt_by_market={}, bankrupt={}, end_price={})
            for m in range(n_markets):
                _market_step(book, rules, state, out, flows, path=path, t=t, m=m, prices=prices)
            bad_debt_now, penalties_now = flows.bad_debt, flows.penalties
            net_flow += penalties_now - bad_debt_now
            out.required_fund[path] = max(out.required_fund[path], -net_flow)
            fund = fund + penalties_now - bad_debt_now
            if fund < 0:
                deficit = -fund
                out.exhausted[path] = True
                fund = 0.0
                fund += _waterfall(book, rules, state, out, flows, path=path, deficit=deficit)
            out.fund_path[path, t] = fund
        out.fund_end[path] = fund
        out.adl_haircuts.append(dict(state.haircuts))
        out.adl_accounts[path] = len(state.haircuts)
        for haircut in state.haircuts.values():
            out.adl_haircut_histogram[path, int(np.searchsorted(HAIRCUT_EDGES, haircut, side="right"))] += 1
        out.adl_haircut_max[path] = max(state.haircuts.values(), default=0.0)
    return out


def _waterfall(
    book: _Book,
    rules: _Rules,
    state: _PathState,
    out: ReferenceOutcome,
    flows: _StepFlows,
    *,
    path: int,
    deficit: float,
) -> float:
    """Share a step's deficit among the markets by their bad debt; socialise it or deleverage winners.

    Returns what winners paid beyond what was needed (it stays in the fund).
    """
    assert flows.bad_debt_by_market is not None and flows.bankrupt is not None and flows.end_price is not None
    kept = 0.0
    for m in range(len(rules.mmr)):
        needed = deficit * flows.bad_debt_by_market.get(m, 0.0) / flows.bad_debt if flows.bad_debt > 0 else 0.0
        if rules.waterfall[m] != "adl" or needed <= 0:
            out.uncovered_loss[path] += needed if flows.bad_debt > 0 else deficit
            continue
        # executed order: round by round, longs first, the most underwater first
        queue = sorted(
            flows.bankrupt.get(m, []),
            key=lambda b: (
                b.round,
                0 if book.size[b.position] > 0 else 1,
                -_bankruptcy_price(book, b.position)
                if book.size[b.position] > 0
                else _bankruptcy_price(book, b.position),
                -b.position if book.size[b.position] > 0 else b.position,
            ),
        )
        price = flows.end_price[m]
        remaining = needed
        exhausted_sides: set[bool] = set()
        for bankrupt in queue:
            is_long = book.size[bankrupt.position] > 0
            if is_long in exhausted_sides or bankrupt.quantity <= 0:
                continue
            loss_per_unit = bankrupt.loss / bankrupt.quantity
            left = bankrupt.quantity
            paid = 0.0
            while left > 0:
                winner = _top_winner(book, state, m=m, winner_long=not is_long, price=price)
                if winner is None:
                    break
                delta = min(left, state.remaining[winner])
                state.remaining[winner] -= delta
                state.haircuts[winner] = state.haircuts.get(winner, 0.0) + delta * loss_per_unit
                out.adl_notional[path] += delta * _bankruptcy_price(book, bankrupt.position)
                paid += delta * loss_per_unit
                left -= delta
            out.adl_haircut[path] += paid
            remaining -= paid
            if remaining <= 0:
                break
            if left > 0:
                exhausted_sides.add(is_long)
        if remaining <= 0:
            out.adl_over_haircut[path] += -remaining
            kept += -remaining
        else:
            out.uncovered_loss[path] += remaining
    return kept


def _bankruptcy_price(book: _Book, i: int) -> float:
    """Price at which the position's equity is zero: e − C/s (long) or e + C/q (short)."""
    return float(book.entry_price[i] - book.collateral[i] / book.size[i])


def _top_winner(book: _Book, state: _PathState, *, m: int, winner_long: bool, price: float) -> int | None:
    """The open position of market m on the given side, in profit at `price`, with the highest ADL index.

    Index (Hyperliquid): (mark / entry) · (notional / equity) for longs, (entry / mark) · (notional / equity)
    for shorts. Ties go to the lower position index.
    """
    best: int | None = None
    best_index = -math.inf
    for i in range(len(book.size)):
        if book.market[i] != m or state.executed[i] or state.remaining[i] <= 0 or (book.size[i] > 0) != winner_long:
            continue
        entry = float(book.entry_price[i])
        in_profit = price > entry if winner_long else price < entry
        if not in_profit:
            continue
        notional = state.remaining[i] * price
        leverage = notional / book.equity(i, price, state.remaining[i])
        index = (price / entry if winner_long else entry / price) * leverage
        if index > best_index:
            best, best_index = i, index
    return best


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
    assert flows.bad_debt_by_market is not None and flows.bankrupt is not None and flows.end_price is not None
    while True:
        _flag(book, rules, state, t=t, m=m, price=price)
        due = [
            i
            for i in range(len(book.size))
            if book.market[i] == m
            and state.flagged_at[i] >= 0
            and not state.executed[i]
            and state.remaining[i] > 0
            and (state.flagged_at[i] + rules.delay <= t or t == last_step)
        ]
        if not due:
            break
        long_notional = sum(state.remaining[i] * price for i in due if book.size[i] > 0)
        short_notional = sum(state.remaining[i] * price for i in due if book.size[i] < 0)
        gross = long_notional + short_notional
        impact_now = _impact(rules.impact, rules.impact_coefficient, gross, rules.depth[m])
        for i in due:
            x, loss, fee = _execute(book, rules, state, i, m=m, price=price, impact_now=impact_now)
            out.bad_debt[path] += loss
            out.bad_debt_by_market[path, m] += loss
            out.penalty_income[path] += fee
            flows.bad_debt += loss
            flows.penalties += fee
            flows.bad_debt_by_market[m] = flows.bad_debt_by_market.get(m, 0.0) + loss
            if loss > 0:
                flows.bankrupt.setdefault(m, []).append(
                    _Bankrupt(position=i, round=rounds, execution_price=x, quantity=state.remaining[i], loss=loss)
                )
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
    flows.end_price[m] = price


def _flag(book: _Book, rules: _Rules, state: _PathState, *, t: int, m: int, price: float) -> None:
    """Flag, at step `t`, every unflagged position of market `m` whose equity is below maintenance at `price`."""
    for i in range(len(book.size)):
        if book.market[i] != m or state.flagged_at[i] >= 0 or state.remaining[i] <= 0:
            continue
        if book.equity(i, price, state.remaining[i]) < rules.mmr[m] * state.remaining[i] * price:
            state.flagged_at[i] = t


def _execute(
    book: _Book, rules: _Rules, state: _PathState, i: int, *, m: int, price: float, impact_now: float
) -> tuple[float, float, float]:
    """Close what is open of position `i` at the impacted price; returns (execution price, bad debt, penalty)."""
    x = price * (1 - impact_now) if book.size[i] > 0 else price * (1 + impact_now)
    equity_at_x = book.equity(i, x, state.remaining[i])
    loss = max(0.0, -equity_at_x)
    fee = min(rules.penalty[m] * state.remaining[i] * x, max(0.0, equity_at_x))
    return x, loss, fee
