"""Writing exposure snapshots: one row per market plus a protocol-wide row, in one transaction.

Every run records its outcome in `SnapshotHealth`, so a failing snapshot is visible on the pages
that show snapshot figures instead of leaving them silently on the last good set.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal, InvalidOperation, localcontext

from django.db import transaction
from django.utils import timezone

from riskgov.core.models.fields import AMOUNT_DIGITS, AMOUNT_PLACES
from riskgov.markets.domain.exposure_aggregates import ExposureAggregate, aggregate_exposure
from riskgov.markets.models import PROTOCOL_SCOPE, Account, ExposureSnapshot, Market, SnapshotHealth
from riskgov.markets.selectors.exposure import open_position_arrays
from riskgov.markets.selectors.markets import market_states

HEALTH_ROW = 1
SNAPSHOT_AMOUNT_LIMIT = Decimal(10) ** (AMOUNT_DIGITS - AMOUNT_PLACES)  # NUMERIC(38, 18) holds less than this
ERROR_CHARS = 500


class SnapshotError(Exception):
    """An aggregate the snapshot fields cannot hold; nothing was stored."""


def _decimal(value: float, *, scope: str, name: str) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = AMOUNT_DIGITS + 20
        try:
            number = Decimal(repr(float(value))).quantize(Decimal("0.000001"))
        except InvalidOperation:
            number = None
    if number is None or abs(number) >= SNAPSHOT_AMOUNT_LIMIT:
        raise SnapshotError(f"{scope} {name} = {float(value):.6g} is beyond what a snapshot stores (below 1e20)")
    return number


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
        values[name] = _decimal(values[name], scope=scope, name=name)
    return ExposureSnapshot(taken_at=taken_at, scope=scope, market=market, mark_price=mark_price, **values)


def exposure_snapshot_take(*, taken_at: datetime | None = None) -> list[ExposureSnapshot]:
    """Aggregate every open position at current marks and store the snapshot set.

    Idempotent per instant: a set already stored for `taken_at` is returned unchanged.
    Markets without a price or parameters are left out (nothing to mark them with). The outcome,
    success or the error (re-raised), is recorded in `SnapshotHealth`.
    """
    taken_at = taken_at or timezone.now()
    try:
        rows = _snapshot_store(taken_at)
    except Exception as error:
        snapshot_failure_record(error=error)
        raise
    snapshot_success_record()
    return rows


def snapshot_success_record() -> None:
    """The snapshot ran: clear the failing state."""
    SnapshotHealth.objects.update_or_create(
        pk=HEALTH_ROW, defaults={"last_success_at": timezone.now(), "failing_since": None, "last_error": ""}
    )


def snapshot_failure_record(*, error: BaseException) -> None:
    """The snapshot failed: keep the first failure time since the last success and the latest reason."""
    now = timezone.now()
    reason = f"{type(error).__name__}: {error}"[:ERROR_CHARS]
    with transaction.atomic():
        health, _ = SnapshotHealth.objects.select_for_update().get_or_create(pk=HEALTH_ROW)
        health.last_failure_at = now
        health.failing_since = health.failing_since or now
        health.last_error = reason
        health.save()


def _snapshot_store(taken_at: datetime) -> list[ExposureSnapshot]:
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
