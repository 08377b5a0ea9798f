"""Demo liquidation history: realised liquidations consistent with the demo's hourly prices.

Each day brings liquidations in proportion to how far prices moved that day (calm days a few, violent days
many). A liquidated position lost on the side the market went against: it was opened some hours before at
that hour's price, is liquidated at the demo price of its hour, and its collateral is what leaves it below
the maintenance margin there — mostly a little equity left (a penalty for the fund), and in the hours of
large moves a gap past bankruptcy (bad debt), as the DESIGN's formulas give them:
E = C + s·(x − e), bad debt max(0, −E), penalty min(penalty·q·x, max(0, E)), both in cents. Deterministic for a seed;
written with one bulk insert.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import numpy as np
from django.db import transaction

from riskgov.demo.services.markets import DEMO_MARKETS, PRICE_SOURCE
from riskgov.markets.models import Account, Liquidation, LiquidationSource, Market, PriceObservation
from riskgov.markets.models import liquidation_notional as notional_of

EXTERNAL_PREFIX = "demo-liq-"
BASE_PER_DAY = 6.0  # liquidations across all markets on a day with a typical move
MAX_HOLD_HOURS = 72
CENT = Decimal("0.01")  # penalty and bad debt are booked in cents, as the fund's ledger books them
GAP_SCALE = 2.0  # how far past bankruptcy a liquidation gaps, per unit of the hour's move above a calm hour's


def demo_liquidations_exist() -> bool:
    return Liquidation.objects.filter(source=LiquidationSource.IMPORT, external_id__startswith=EXTERNAL_PREFIX).exists()


def _hourly_prices(markets: dict[str, Market]) -> tuple[list[datetime], dict[str, np.ndarray]]:
    rows = PriceObservation.objects.filter(market__in=markets.values(), source=PRICE_SOURCE).order_by("observed_at")
    by_market: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for market_id, moment, price in rows.values_list("market_id", "observed_at", "price").iterator(chunk_size=20_000):
        by_market[market_id].append((moment, float(price)))
    symbol_of = {market.pk: symbol for symbol, market in markets.items()}
    times = [moment for moment, _ in next(iter(by_market.values()), [])]
    paths = {
        symbol_of[pk]: np.array([p for _, p in series]) for pk, series in by_market.items() if len(series) == len(times)
    }
    return times, paths


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def liquidations_demo_seed(*, seed: int) -> int:
    """Create the demo's liquidation history over its stored hourly prices; returns how many (0 when present)."""
    if demo_liquidations_exist():
        return 0
    specs = {spec.symbol: spec for spec in DEMO_MARKETS}
    markets = {market.symbol: market for market in Market.objects.filter(symbol__in=specs)}
    times, paths = _hourly_prices(markets)
    if len(times) < MAX_HOLD_HOURS + 24 or not paths:
        return 0
    rng = np.random.default_rng(seed + 17)
    accounts = list(
        Account.objects.filter(positions__market__in=markets.values()).distinct().values_list("pk", flat=True)[:2000]
    )
    symbols = sorted(paths)
    weights = np.array([specs[s].weight for s in symbols])
    weights = weights / weights.sum()
    hourly_returns = {s: np.diff(np.log(paths[s])) for s in symbols}
    calm = {s: float(np.median(np.abs(hourly_returns[s]))) for s in symbols}
    rows: list[Liquidation] = []
    days = len(times) // 24
    for day in range(MAX_HOLD_HOURS // 24 + 1, days):
        first, last = day * 24, min(day * 24 + 23, len(times) - 1)
        for index, symbol in enumerate(symbols):
            spec, path = specs[symbol], paths[symbol]
            day_move = abs(np.log(path[last] / path[first]))
            typical = spec.volatility / np.sqrt(365)
            expected = BASE_PER_DAY * weights[index] * (1 + 4 * (day_move / typical) ** 2)
            for _ in range(int(rng.poisson(expected))):
                hour = int(rng.integers(first + 1, last + 1))
                hold = int(rng.integers(1, MAX_HOLD_HOURS))
                price, entry = path[hour], path[hour - hold]
                long = price < entry  # the side the move went against (no move: no loss, skipped below)
                quantity = rng.lognormal(np.log(8_000), 1.4) / price
                loss = quantity * abs(price - entry)
                notional = quantity * price
                mmr, penalty_rate = float(spec.mmr), float(spec.penalty)
                hour_move = abs(hourly_returns[symbol][hour - 1])
                gap = GAP_SCALE * max(0.0, hour_move - 2 * calm[symbol])
                equity_ratio = rng.uniform(0.1, 0.95) * mmr - gap  # of notional, at the execution price
                collateral = max(equity_ratio * notional + loss, quantity * entry / (0.98 * spec.max_leverage))
                equity = collateral - loss
                if equity >= mmr * notional:
                    continue  # even at the maximum leverage this move did not reach the maintenance margin
                size = quantity if long else -quantity
                # 7 + 8 significant digits: the notional (size × price) stays within the 15 SQLite keeps exactly
                size_d, price_d = Decimal(f"{size:.7g}"), Decimal(f"{price:.8g}")
                entry_d, collateral_d = Decimal(f"{entry:.8g}"), _money(collateral)
                equity_d = collateral_d + size_d * (price_d - entry_d)
                notional_d = notional_of(size_d, price_d)
                rows.append(
                    Liquidation(
                        source=LiquidationSource.IMPORT,
                        external_id=f"{EXTERNAL_PREFIX}{seed}-{len(rows):06d}",
                        market=markets[symbol],
                        account_id=accounts[int(rng.integers(len(accounts)))] if accounts else None,
                        liquidated_at=times[hour] + (times[1] - times[0]) * float(rng.random()),
                        size=size_d,
                        entry_price=entry_d,
                        collateral=collateral_d,
                        price=price_d,
                        notional=notional_d,
                        penalty=min(Decimal(str(penalty_rate)) * notional_d, max(Decimal(0), equity_d)).quantize(
                            CENT, rounding=ROUND_DOWN
                        ),
                        bad_debt=max(Decimal(0), -equity_d).quantize(CENT, rounding=ROUND_HALF_EVEN),
                    )
                )
    with transaction.atomic():
        Liquidation.objects.bulk_create(rows, batch_size=5_000)
    return len(rows)
