"""Reads for exposure: positions as arrays (the one Decimal → float conversion) and snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import numpy as np
from django.db import connection
from django.db.models import QuerySet

from riskgov.markets.domain.exposure_aggregates import PositionArrays
from riskgov.markets.models import PROTOCOL_SCOPE, ExposureSnapshot, Position, PositionStatus, SnapshotHealth
from riskgov.markets.selectors.markets import MarketState

FETCH_BATCH = 200_000


def open_position_arrays(states: list[MarketState]) -> tuple[PositionArrays, np.ndarray]:
    """All open positions of markets that have a mark price and parameters, as float64 arrays.

    Returns the arrays and the market id of each position. Reads in one streamed query.
    """
    priced = {s.market.pk: s for s in states if s.mark_price is not None and s.parameters is not None}
    table = connection.ops.quote_name(Position._meta.db_table)
    sql = (  # the quoted table name of the model is the only interpolation; the status is a parameter
        f"SELECT market_id, account_id, CAST(size AS DOUBLE PRECISION), CAST(entry_price AS DOUBLE PRECISION), "  # noqa: S608
        f"CAST(collateral AS DOUBLE PRECISION) FROM {table} WHERE status = %s"
    )
    chunks = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [PositionStatus.OPEN])
        while rows := cursor.fetchmany(FETCH_BATCH):
            chunks.append(np.array(rows, dtype=np.float64))
    data = np.concatenate(chunks) if chunks else np.empty((0, 5))
    market_ids = data[:, 0].astype(np.int64)
    keep = np.isin(market_ids, np.fromiter(priced, dtype=np.int64, count=len(priced)))
    data, market_ids = data[keep], market_ids[keep]
    price_of = {pk: float(s.mark_price) for pk, s in priced.items()}  # type: ignore[arg-type]
    mmr_of = {pk: float(s.parameters.mmr) for pk, s in priced.items()}  # type: ignore[union-attr]
    lookup_ids = np.array(sorted(priced), dtype=np.int64)
    index = np.searchsorted(lookup_ids, market_ids)
    prices = np.array([price_of[pk] for pk in lookup_ids])[index] if len(lookup_ids) else np.empty(0)
    mmrs = np.array([mmr_of[pk] for pk in lookup_ids])[index] if len(lookup_ids) else np.empty(0)
    arrays = PositionArrays(
        size=data[:, 2],
        entry_price=data[:, 3],
        collateral=data[:, 4],
        account=data[:, 1].astype(np.int64),
        price=prices,
        mmr=mmrs,
    )
    return arrays, market_ids


class SnapshotHealthState(NamedTuple):
    last_success_at: datetime | None
    failing_since: datetime | None  # None while snapshots succeed
    last_error: str

    @property
    def failing(self) -> bool:
        return self.failing_since is not None


def snapshot_health() -> SnapshotHealthState:
    """(last_success_at, failing_since, last_error) of the periodic exposure snapshot."""
    row = SnapshotHealth.objects.filter(pk=1).values_list("last_success_at", "failing_since", "last_error").first()
    return SnapshotHealthState(*row) if row else SnapshotHealthState(None, None, "")


def latest_snapshots() -> list[ExposureSnapshot]:
    """The newest snapshot set: the protocol row first, then one row per market."""
    newest = ExposureSnapshot.objects.filter(scope=PROTOCOL_SCOPE).order_by("-taken_at").first()
    if newest is None:
        return []
    rows = list(ExposureSnapshot.objects.filter(taken_at=newest.taken_at).select_related("market"))
    return sorted(rows, key=lambda s: (s.scope != PROTOCOL_SCOPE, s.scope))


def snapshot_history(scope: str = PROTOCOL_SCOPE, since: datetime | None = None) -> QuerySet[ExposureSnapshot]:
    rows = ExposureSnapshot.objects.filter(scope=scope)
    if since is not None:
        rows = rows.filter(taken_at__gte=since)
    return rows.order_by("taken_at")
