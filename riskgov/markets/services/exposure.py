"""Writing exposure snapshots: one row per market plus a protocol-wide row, in one transaction."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from riskgov.markets.domain.exposure_aggregates import ExposureAggregate, aggregate_exposure
from riskgov.markets.models import PROTOCOL_SCOPE, Account, ExposureSnapshot, Market
from riskgov.markets.selectors.exposure import open_position_arrays
from riskgov.markets.selectors.markets import market_states


def _decimal(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal("0.000001"))


def _row(
    aggregate: ExposureAggregate,
    *,
    taken_at: datetime,
    scope: str,
    market: Market | None,
    mark_price: Decimal | None,
    addresses: dict[int, str],
) -> ExposureSnapshot:
    values = asdict(aggregate)
    for top in values["top_accounts"]:
        top["address"] = addresses.get(top["account"], "")
    for name in ("oi_long", "oi_short", "oi_long_size", "oi_short_size", "collateral", "liquidatable_notional"):
        values[name] = _decimal(values[name])
    return ExposureSnapshot(taken_at=taken_at, scope=scope, market=market, mark_price=mark_price, **values)


def exposure_snapshot_take(*, taken_at: datetime | None = None) -> list[ExposureSnapshot]:
    """Aggregate every open position at current marks and store the snapshot set.

    Idempotent per instant: a set already stored for `taken_at` is returned unchanged.
    Markets without a price or parameters are left out (nothing to mark them with).
    """
    taken_at = taken_at or timezone.now()
    existing = list(ExposureSnapshot.objects.filter(taken_at=taken_at))
    if existing:
        return existing
    states = market_states(taken_at)
    arrays, market_ids = open_position_arrays(states)
    top_ids: set[int] = set()
    aggregates: list[tuple[str, Market | None, Decimal | None, ExposureAggregate]] = []
    protocol = aggregate_exposure(arrays)
    aggregates.append((PROTOCOL_SCOPE, None, None, protocol))
    for state in states:
        if state.mark_price is None or state.parameters is None:
            continue
        aggregate = aggregate_exposure(arrays.subset(market_ids == state.market.pk))
        aggregates.append((state.market.symbol, state.market, state.mark_price, aggregate))
    for *_, aggregate in aggregates:
        top_ids.update(int(t["account"]) for t in aggregate.top_accounts)
    addresses = dict(Account.objects.filter(pk__in=top_ids).values_list("pk", "address"))
    rows = [
        _row(agg, taken_at=taken_at, scope=scope, market=market, mark_price=mark, addresses=addresses)
        for scope, market, mark, agg in aggregates
    ]
    with transaction.atomic():
        ExposureSnapshot.objects.bulk_create(rows, ignore_conflicts=True)
    return list(ExposureSnapshot.objects.filter(taken_at=taken_at))
