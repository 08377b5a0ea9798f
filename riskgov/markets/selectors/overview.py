"""Reads behind the dashboard, markets list and market page: snapshots, parameters and prices.

These pages never read positions (except a market's nearest-liquidation list, an index query in
`riskgov.markets.selectors.positions`): figures come from the latest `ExposureSnapshot` set and history.
Chart series are thinned server-side so a page ships at most `MAX_POINTS` points per line.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from riskgov.markets.models import PROTOCOL_SCOPE, ExposureSnapshot, MarginParameters, Market
from riskgov.markets.selectors.exposure import SnapshotHealthState, latest_snapshots, snapshot_health
from riskgov.markets.selectors.markets import (
    MarketState,
    MarkFreshness,
    mark_freshness,
    market_states,
    parameter_history,
    price_history,
)
from riskgov.markets.selectors.positions import (
    PositionFilters,
    PositionRow,
    liquidatable_live,
    nearest_liquidation,
)

MAX_POINTS = 500
# The time ranges a history chart offers (label, span); each range gets its share of MAX_POINTS, so a
# short range is as detailed as a long one. Charts open on DEFAULT_RANGE.
CHART_RANGES: tuple[tuple[str, timedelta], ...] = (
    ("24 h", timedelta(days=1)),
    ("7 d", timedelta(days=7)),
    ("30 d", timedelta(days=30)),
    ("90 d", timedelta(days=90)),
)
DEFAULT_RANGE = "30 d"
HISTORY_WINDOW = CHART_RANGES[-1][1]
PRICE_WINDOW = CHART_RANGES[-1][1]
NEAR_BANDS = ("5", "10", "20")
NEAREST_LIMIT = 25


def thin_indices(count: int, max_points: int = MAX_POINTS) -> list[int]:
    """At most `max_points` evenly spread indices into a series of `count`, keeping the last one."""
    if count <= max_points:
        return list(range(count))
    step = (count - 1) / (max_points - 1)
    return sorted({round(i * step) for i in range(max_points)})


def thin_for_ranges(times: list[datetime], now: datetime, max_points: int = MAX_POINTS) -> list[int]:
    """Indices into ascending `times` such that every chart range ending at `now` holds up to
    max_points / len(CHART_RANGES) evenly spread points of its own (at most `max_points` in all)."""
    per_range = max(2, max_points // len(CHART_RANGES))
    kept: set[int] = set()
    for _, span in CHART_RANGES:
        start = bisect_left(times, now - span)
        kept.update(start + i for i in thin_indices(len(times) - start, per_range))
    return sorted(kept)


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def chart_time_axis(times: list[datetime], now: datetime) -> dict[str, Any]:
    """The payload fields of a chart over time: instants (epoch ms), the ranges offered and the one shown."""
    return {
        "t": [_epoch_ms(t) for t in times],
        "now": _epoch_ms(now),
        "ranges": [{"label": label, "seconds": int(span.total_seconds())} for label, span in CHART_RANGES],
        "range": DEFAULT_RANGE,
    }


def _as_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _near_notional(snapshot_value: dict, band: str) -> float:
    return float(snapshot_value.get(band, {}).get("notional", 0.0))


def snapshot_history_series(*, scope: str, since: datetime | None = None) -> dict[str, list]:
    """OI long/short and near-liquidation notional over time for one scope, at most MAX_POINTS.

    Reads the instants first (a narrow index scan), then only the rows it keeps.
    """
    now = timezone.now()
    since = since or now - HISTORY_WINDOW
    instants = list(
        ExposureSnapshot.objects.filter(scope=scope, taken_at__gte=since)
        .order_by("taken_at")
        .values_list("taken_at", flat=True)
    )
    kept = [instants[i] for i in thin_for_ranges(instants, now)]
    rows = (
        ExposureSnapshot.objects.filter(scope=scope, taken_at__in=kept)
        .order_by("taken_at")
        .values_list("taken_at", "oi_long", "oi_short", "near_liquidation", "liquidatable_notional")
    )
    series: dict[str, list] = {"labels": [], "times": [], "oi_long": [], "oi_short": [], "liquidatable": []}
    for band in NEAR_BANDS:
        series[f"near_{band}"] = []
    for taken_at, oi_long, oi_short, near, liquidatable in rows:
        series["labels"].append(timezone.localtime(taken_at).strftime("%Y-%m-%d %H:%M"))
        series["times"].append(taken_at)
        series["oi_long"].append(float(oi_long))
        series["oi_short"].append(float(oi_short))
        series["liquidatable"].append(float(liquidatable))
        for band in NEAR_BANDS:
            series[f"near_{band}"].append(_near_notional(near, band))
    return series


@dataclass
class ShockRow:
    scope: str
    bad_debt: list[float]


@dataclass
class Dashboard:
    protocol: ExposureSnapshot | None
    markets: list[ExposureSnapshot]
    shocks: list[str] = field(default_factory=list)
    shock_rows: list[ShockRow] = field(default_factory=list)
    charts: dict[str, Any] = field(default_factory=dict)
    health: SnapshotHealthState = field(default_factory=snapshot_health)

    @property
    def near_liquidation(self) -> list[tuple[str, int, float]]:
        if self.protocol is None:
            return []
        near = self.protocol.near_liquidation
        return [(band, int(near.get(band, {}).get("count", 0)), _near_notional(near, band)) for band in NEAR_BANDS]


def _shock_keys(snapshot: ExposureSnapshot) -> list[str]:
    return sorted(snapshot.shock_bad_debt, key=float)


def dashboard_overview() -> Dashboard:
    """The latest snapshot set with chart series; an empty Dashboard before the first snapshot."""
    snapshots = latest_snapshots()
    if not snapshots:
        return Dashboard(protocol=None, markets=[])
    protocol, markets = snapshots[0], snapshots[1:]
    shocks = _shock_keys(protocol)
    shock_rows = [
        ShockRow(scope=s.scope, bad_debt=[float(s.shock_bad_debt.get(k, 0.0)) for k in shocks]) for s in snapshots
    ]
    histogram = protocol.leverage_histogram or {}
    charts = {
        "oi": {
            "type": "bar",
            "labels": [s.scope for s in markets],
            "datasets": [
                {"label": "Long OI", "data": [float(s.oi_long) for s in markets], "color": "long"},
                {"label": "Short OI", "data": [float(s.oi_short) for s in markets], "color": "short"},
                {"label": "OI cap (per side)", "data": _oi_caps(markets), "color": "danger", "marker": True},
            ],
            "format": "usd",
        },
        "leverage": {
            "type": "bar",
            "labels": histogram.get("labels", []),
            "datasets": [{"label": "Positions", "data": histogram.get("counts", []), "color": "accent"}],
            "format": "count",
        },
        "history": _history_chart(snapshot_history_series(scope=PROTOCOL_SCOPE)),
        "liquidation_map": _liquidation_map_chart(markets),
        "shocks": {
            "type": "bar",
            "labels": [f"{float(k):+g} %" for k in shocks],
            "datasets": [
                {"label": "Bad debt (all markets)", "data": shock_rows[0].bad_debt, "color": "short"},
            ],
            "format": "usd",
            "y_scale": "log",  # ±5 % is orders of magnitude below ±50 %: a linear axis hides it
            "y_title": "bad debt (log scale)",
        },
    }
    labels = [f"{float(k):+g} %" for k in shocks]
    return Dashboard(protocol=protocol, markets=markets, shocks=labels, shock_rows=shock_rows, charts=charts)


def _oi_caps(markets: list[ExposureSnapshot]) -> list[float | None]:
    """Each market's OI cap per side in force now, in the order of `markets` (None without parameters)."""
    ids = [snapshot.market_id for snapshot in markets if snapshot.market_id is not None]
    caps: dict[int, Any] = {}
    in_force = MarginParameters.objects.effective(timezone.now()).filter(market_id__in=ids)
    for market_id, oi_cap in in_force.order_by("market_id", "version").values_list("market_id", "oi_cap"):
        caps[market_id] = oi_cap  # ascending versions: the last one wins
    return [_as_float(caps.get(snapshot.market_id)) if snapshot.market_id else None for snapshot in markets]


def _history_chart(series: dict[str, list]) -> dict[str, Any]:
    return {
        "type": "line",
        "labels": series["labels"],
        **chart_time_axis(series["times"], timezone.now()),
        "datasets": [
            {"label": "Long OI", "data": series["oi_long"], "color": "long"},
            {"label": "Short OI", "data": series["oi_short"], "color": "short"},
            {"label": "Within 10 % of liquidation", "data": series["near_10"], "color": "warn"},
            {"label": "Liquidatable", "data": series["liquidatable"], "color": "danger"},
        ],
        "format": "usd",
    }


def _liquidation_map_chart(markets: list[ExposureSnapshot]) -> dict[str, Any]:
    moves: list[float] = []
    datasets = []
    for snapshot in markets:
        grid = snapshot.liquidation_map or {}
        if not grid.get("moves_pct"):
            continue
        moves = moves or list(grid["moves_pct"])
        datasets.append({"label": snapshot.scope, "data": grid["notional"]})
    return {
        "type": "line",
        "labels": [f"{m:+g} %" for m in moves],
        "datasets": datasets,
        "format": "usd",
        "x_title": "Price move",
        "y_title": "Notional liquidated",
    }


@dataclass
class MarketOverview:
    state: MarketState
    snapshot: ExposureSnapshot | None
    freshness: MarkFreshness | None = None

    @property
    def market(self) -> Market:
        return self.state.market


def markets_overview() -> list[MarketOverview]:
    """Every active market with its mark, parameters in force and latest snapshot row."""
    by_market = {s.market_id: s for s in latest_snapshots() if s.market_id is not None}
    states = market_states()
    freshness = mark_freshness(states)
    return [
        MarketOverview(state=state, snapshot=by_market.get(state.market.pk), freshness=freshness[state.market.pk])
        for state in states
    ]


@dataclass
class MarketDetail:
    state: MarketState
    snapshot: ExposureSnapshot | None
    versions: list[MarginParameters]
    nearest: list[PositionRow]
    charts: dict[str, Any]
    freshness: MarkFreshness | None = None
    live_liquidatable: tuple[int, Decimal] | None = None  # (count, notional) at the current mark
    health: SnapshotHealthState = field(default_factory=snapshot_health)

    @property
    def nearest_liquidatable(self) -> int:
        return sum(1 for row in self.nearest if row.risk.liquidatable)

    @property
    def market(self) -> Market:
        return self.state.market

    @property
    def near_liquidation(self) -> list[tuple[str, int, float]]:
        if self.snapshot is None:
            return []
        near = self.snapshot.near_liquidation
        return [(band, int(near.get(band, {}).get("count", 0)), _near_notional(near, band)) for band in NEAR_BANDS]


def _price_chart(market: Market) -> dict[str, Any]:
    now = timezone.now()
    instants: QuerySet = price_history(market, now - PRICE_WINDOW).values_list("observed_at", "price")
    points = list(instants)
    kept = [points[i] for i in thin_for_ranges([t for t, _ in points], now)]
    return {
        "type": "line",
        "labels": [timezone.localtime(t).strftime("%Y-%m-%d %H:%M") for t, _ in kept],
        **chart_time_axis([t for t, _ in kept], now),
        "datasets": [{"label": f"{market} mark", "data": [float(p) for _, p in kept], "color": "accent"}],
        "format": "price",
    }


def _parameters_chart(versions: list[MarginParameters]) -> dict[str, Any]:
    ordered = sorted(versions, key=lambda v: v.version)
    return {
        "type": "bar",
        "labels": [f"v{v.version} · {timezone.localtime(v.effective_at):%Y-%m-%d}" for v in ordered],
        "datasets": [
            {"label": "Initial margin (IMR)", "data": [float(v.imr) * 100 for v in ordered], "color": "accent"},
            {"label": "Maintenance margin (MMR)", "data": [float(v.mmr) * 100 for v in ordered], "color": "warn"},
        ],
        "format": "pct",
    }


def market_detail(*, market: Market) -> MarketDetail:
    """Mark, parameters in force and their history, price and exposure charts, and the
    positions nearest liquidation (an index query) for one market."""
    states = market_states()
    state = next((s for s in states if s.market.pk == market.pk), MarketState(market, None, None))
    nearest = nearest_liquidation(market=market, limit=NEAREST_LIMIT, states=states)
    live = None
    if state.mark_price is not None and state.parameters is not None:
        live = liquidatable_live(filters=PositionFilters(market=market.symbol), states=states)
    snapshot = ExposureSnapshot.objects.filter(scope=market.symbol).order_by("-taken_at").first()
    versions = list(parameter_history(market))
    history = snapshot_history_series(scope=market.symbol)
    charts = {
        "price": _price_chart(market),
        "parameters": _parameters_chart(versions),
        "history": _history_chart(history),
    }
    if snapshot is not None:
        charts["liquidation_map"] = _liquidation_map_chart([snapshot])
    return MarketDetail(
        state=state,
        snapshot=snapshot,
        versions=versions,
        nearest=nearest,
        charts=charts,
        freshness=mark_freshness([state])[market.pk],
        live_liquidatable=live,
    )
