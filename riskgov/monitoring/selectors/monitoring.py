"""Reads for monitoring: the figures alert rules watch, and alerts for pages and the banner."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from chain.errors import ChainError
from chain.selectors.accounts import native_balance
from chain.selectors.deployments import active_deployment, deployment_checkpoints
from insurance.selectors.coverage import run_latest_baseline
from riskgov.governance.services.delegation import RelayerKeyError, relayer_account
from riskgov.markets.domain.exposure_aggregates import NEAR_LIQUIDATION_BANDS
from riskgov.markets.models import Position, PositionStatus
from riskgov.markets.selectors.markets import MarketState
from riskgov.monitoring.domain.margin_policy import HOURS_PER_YEAR, hourly_log_returns
from riskgov.monitoring.models import Alert, AlertDelivery, AlertRule, AlertState
from riskgov.monitoring.selectors.margin_policy import hourly_price_series

NEAR_BAND = NEAR_LIQUIDATION_BANDS[0]  # 5 %: the band the near-liquidation alert watches
SHORT_VOL_HOURS = 24
LONG_VOL_HOURS = 30 * 24
MIN_LONG_RETURNS = 48


@dataclass(frozen=True)
class MarketRisk:
    """Open interest and notional within 5 % of liquidation of one market, quote units at its mark price."""

    oi_long: float
    oi_short: float
    near_liquidation_notional: float


def market_risk_figures(states: list[MarketState]) -> dict[int, MarketRisk]:
    """Per-market OI and near-liquidation notional in one aggregate query (no positions leave the database).

    A position is within the band when its distance to liquidation is below it (liquidatable ones included):
    long bankruptcy price > p·(1 − band)·(1 − mmr), short bankruptcy price < p·(1 + band)·(1 + mmr), the
    same rule as riskgov.markets.domain.exposure_aggregates.
    """
    priced = [s for s in states if s.mark_price is not None and s.parameters is not None]
    if not priced:
        return {}
    values, params = [], []
    for state in priced:
        price, mmr = float(state.mark_price), float(state.parameters.mmr)  # type: ignore[arg-type, union-attr]
        values.append("(%s, %s, %s)")
        params += [state.market.pk, price * (1 - NEAR_BAND) * (1 - mmr), price * (1 + NEAR_BAND) * (1 + mmr)]
    table = Position._meta.db_table
    # the table name comes from the model and every value is a query parameter
    sql = (
        f"WITH band(market_id, long_above, short_below) AS (VALUES {', '.join(values)}) "  # noqa: S608
        "SELECT p.market_id, "
        "CAST(SUM(CASE WHEN p.side = 1 THEN p.size ELSE 0 END) AS DOUBLE PRECISION), "
        "CAST(SUM(CASE WHEN p.side = -1 THEN -p.size ELSE 0 END) AS DOUBLE PRECISION), "
        "CAST(SUM(CASE WHEN (p.side = 1 AND p.bankruptcy_price > band.long_above) "
        "OR (p.side = -1 AND p.bankruptcy_price < band.short_below) THEN ABS(p.size) ELSE 0 END) "
        "AS DOUBLE PRECISION) "
        f"FROM {table} p JOIN band ON band.market_id = p.market_id WHERE p.status = %s GROUP BY p.market_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, PositionStatus.OPEN])
        rows = cursor.fetchall()
    price_of = {s.market.pk: float(s.mark_price) for s in priced}  # type: ignore[arg-type]
    found = {pk: MarketRisk(0.0, 0.0, 0.0) for pk in price_of}
    for market_id, long_size, short_size, near_size in rows:
        price = price_of[market_id]
        found[market_id] = MarketRisk(long_size * price, short_size * price, near_size * price)
    return found


@dataclass(frozen=True)
class VolatilityJump:
    short_annual: float
    long_annual: float

    @property
    def ratio(self) -> float:
        return self.short_annual / self.long_annual if self.long_annual > 0 else math.inf


def volatility_jumps(market_ids: list[int], now: datetime) -> dict[int, VolatilityJump]:
    """Realised volatility of the last 24 h against the 30 days before, per market with enough prices."""
    series = hourly_price_series(
        market_ids, since=now - timedelta(hours=LONG_VOL_HOURS + SHORT_VOL_HOURS + 1), until=now
    )
    found = {}
    for market_id, hourly in series.items():
        returns = hourly_log_returns(hourly.hours, hourly.prices)
        recent = hourly.hours[1:] > hourly.hours[-1] - SHORT_VOL_HOURS
        short, long = returns[recent], returns[~recent]
        if len(short) < SHORT_VOL_HOURS // 2 or len(long) < MIN_LONG_RETURNS:
            continue
        scale = math.sqrt(HOURS_PER_YEAR)
        found[market_id] = VolatilityJump(
            float(np.sqrt(np.mean(short**2))) * scale, float(np.sqrt(np.mean(long**2))) * scale
        )
    return found


@dataclass(frozen=True)
class CoverageFigures:
    run_id: int
    finished_at: datetime | None
    coverage_ratio: float | None  # None: unbounded (no expected shortfall)
    exhaustion_probability: float | None


def latest_coverage() -> CoverageFigures | None:
    """Headline figures (fractions) of the newest succeeded baseline run, or None before the first one."""
    run = run_latest_baseline()
    if run is None or not run.metrics:
        return None
    summary: dict[str, Any] = run.metrics.get("summary", {})
    return CoverageFigures(
        run_id=run.pk,
        finished_at=run.finished_at,
        coverage_ratio=(summary.get("coverage_ratio") or {}).get("value"),
        exhaustion_probability=(summary.get("exhaustion_probability") or {}).get("value"),
    )


@dataclass(frozen=True)
class IndexerLag:
    seconds: float
    checkpoint: str
    last_success_at: datetime | None


def indexer_lag(now: datetime) -> IndexerLag | None:
    """Seconds since the chain indexer's most lagging contract last indexed successfully (active deployment).

    None without a deployment or checkpoints; a checkpoint that never succeeded counts from its creation.
    """
    deployment = active_deployment()
    if deployment is None:
        return None
    checkpoints = deployment_checkpoints(deployment=deployment)
    if not checkpoints:
        return None
    lagging = min(checkpoints, key=lambda c: c.last_success_at or c.updated_at)
    since = lagging.last_success_at or lagging.updated_at
    return IndexerLag(
        seconds=(now - since).total_seconds(), checkpoint=str(lagging), last_success_at=lagging.last_success_at
    )


@dataclass(frozen=True)
class AccountBalance:
    address: str
    wei: int


def vote_relayer_address() -> str | None:
    """The account that pays for relayed ballots and delegations, or None when none is configured."""
    try:
        return str(relayer_account().address)
    except RelayerKeyError:
        return None


def relayer_balance(address: str = "") -> AccountBalance | None:
    """The native balance (wei) of ``address``, or of the configured vote relayer when empty; None when there is
    no such account or the node does not answer (the figure is unknown)."""
    watched = address or vote_relayer_address()
    if not watched:
        return None
    try:
        return AccountBalance(address=watched, wei=native_balance(watched))
    except ChainError:
        return None


def open_alerts() -> QuerySet[Alert]:
    """Open alerts, the most severe first, then the newest."""
    return (
        Alert.objects.filter(state=AlertState.OPEN)
        .select_related("rule", "market")
        .order_by("-severity", "-opened_at", "-pk")
    )


def open_alert_count() -> int:
    return Alert.objects.filter(state=AlertState.OPEN).count()


def recent_alerts(*, limit: int = 50) -> QuerySet[Alert]:
    return (
        Alert.objects.filter(state=AlertState.RESOLVED)
        .select_related("rule", "market")
        .order_by("-resolved_at")[:limit]
    )


def alert_rules() -> QuerySet[AlertRule]:
    return AlertRule.objects.select_related("market").order_by("kind", "name")


def recent_deliveries(*, limit: int = 50) -> QuerySet[AlertDelivery]:
    return AlertDelivery.objects.select_related("alert", "alert__rule").order_by("-created_at", "-pk")[:limit]


@dataclass(frozen=True)
class AlertBanner:
    count: int  # open alerts that are not snoozed
    shown: list[Alert]  # the most severe first

    @property
    def more(self) -> int:
        return self.count - len(self.shown)

    @property
    def severity_name(self) -> str:
        return self.shown[0].severity_name if self.shown else "info"


def open_alert_banner(*, shown: int = 2, now: datetime | None = None) -> AlertBanner:
    """The open alerts that are not snoozed: how many, and the most severe few; one query unless there are more."""
    now = now or timezone.now()
    unsnoozed = open_alerts().filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
    rows = list(unsnoozed[: shown + 1])
    count = len(rows) if len(rows) <= shown else unsnoozed.count()
    return AlertBanner(count=count, shown=rows[:shown])
