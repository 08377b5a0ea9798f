"""Reads for the Liquidations page: realised liquidations filtered and paged, their charts, and the coverage
backtest against them. Money is quote units; days are UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, DecimalField, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate

from riskgov.markets.models import Liquidation, Market
from riskgov.monitoring.models import BacktestStatus, CoverageBacktest

PAGE_SIZE = 50
# Notional buckets (quote units) of the by-size chart: [bound_i, bound_i+1), the last one open.
SIZE_BOUNDS = (Decimal(0), Decimal(1_000), Decimal(10_000), Decimal(100_000), Decimal(1_000_000))
SIZE_LABELS = ("< $1K", "$1K–10K", "$10K–100K", "$100K–1M", "≥ $1M")
_ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=38, decimal_places=18))


@dataclass(frozen=True)
class LiquidationFilters:
    """Market (None: all) and an inclusive range of UTC days (None: open)."""

    market: Market | None = None
    since: date | None = None
    until: date | None = None


def liquidations_filtered(filters: LiquidationFilters) -> QuerySet[Liquidation]:
    rows = Liquidation.objects.all()
    if filters.market is not None:
        rows = rows.filter(market=filters.market)
    if filters.since is not None:
        rows = rows.filter(liquidated_at__gte=datetime.combine(filters.since, datetime.min.time(), tzinfo=UTC))
    if filters.until is not None:
        end = datetime.combine(filters.until + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        rows = rows.filter(liquidated_at__lt=end)
    return rows


def liquidations_page(filters: LiquidationFilters, *, page: int | str | None) -> Page[Liquidation]:
    """One page of PAGE_SIZE liquidations, newest first, with market and account (no query per row)."""
    rows = liquidations_filtered(filters).select_related("market", "account").order_by("-liquidated_at", "-pk")
    return Paginator(rows, PAGE_SIZE).get_page(page)


@dataclass(frozen=True)
class LiquidationTotals:
    count: int
    notional: Decimal
    penalty: Decimal
    bad_debt: Decimal
    with_bad_debt: int


def liquidation_totals(filters: LiquidationFilters) -> LiquidationTotals:
    figures = liquidations_filtered(filters).aggregate(
        count=Count("pk"),
        total_notional=Coalesce(Sum("notional"), _ZERO),
        total_penalty=Coalesce(Sum("penalty"), _ZERO),
        total_bad_debt=Coalesce(Sum("bad_debt"), _ZERO),
        with_bad_debt=Count("pk", filter=Q(bad_debt__gt=0)),
    )
    return LiquidationTotals(
        count=figures["count"],
        notional=figures["total_notional"],
        penalty=figures["total_penalty"],
        bad_debt=figures["total_bad_debt"],
        with_bad_debt=figures["with_bad_debt"],
    )


def _size_bucket() -> Case:
    whens = [When(notional__gte=bound, then=Value(index)) for index, bound in reversed(list(enumerate(SIZE_BOUNDS)))]
    return Case(*whens, default=Value(0), output_field=IntegerField())


def liquidation_charts(filters: LiquidationFilters) -> dict[str, dict[str, Any]]:
    """Chart payloads for static/js/charts.js: by day, by market and by size (count, notional, bad debt)."""
    rows = liquidations_filtered(filters).order_by()
    by_day = list(
        rows.annotate(day=TruncDate("liquidated_at", tzinfo=UTC))
        .values("day")
        .annotate(count=Count("pk"), total_notional=Sum("notional"), total_bad_debt=Sum("bad_debt"))
        .order_by("day")
    )
    by_market = list(
        rows.values("market__symbol")
        .annotate(count=Count("pk"), total_notional=Sum("notional"), total_bad_debt=Sum("bad_debt"))
        .order_by("market__symbol")
    )
    sizes = {
        row["bucket"]: row
        for row in rows.annotate(bucket=_size_bucket()).values("bucket").annotate(count=Count("pk")).order_by("bucket")
    }
    return {
        "by_day": {
            "type": "bar",
            "format": "usd",
            "labels": [row["day"].isoformat() for row in by_day],
            "datasets": [
                {
                    "label": "Notional liquidated",
                    "data": [float(row["total_notional"]) for row in by_day],
                    "color": "accent",
                },
                {"label": "Bad debt", "data": [float(row["total_bad_debt"]) for row in by_day], "color": "danger"},
            ],
        },
        "count_by_day": {
            "type": "bar",
            "format": "count",
            "labels": [row["day"].isoformat() for row in by_day],
            "datasets": [{"label": "Liquidations", "data": [row["count"] for row in by_day], "color": "warn"}],
        },
        "by_market": {
            "type": "bar",
            "format": "usd",
            "labels": [row["market__symbol"] for row in by_market],
            "datasets": [
                {"label": "Notional liquidated", "data": [float(row["total_notional"]) for row in by_market]},
                {"label": "Bad debt", "data": [float(row["total_bad_debt"]) for row in by_market], "color": "danger"},
            ],
        },
        "by_size": {
            "type": "bar",
            "format": "count",
            "x_title": "notional at liquidation",
            "labels": list(SIZE_LABELS),
            "datasets": [
                {
                    "label": "Liquidations",
                    "data": [sizes[index]["count"] if index in sizes else 0 for index in range(len(SIZE_LABELS))],
                },
            ],
        },
    }


def coverage_backtest_latest() -> CoverageBacktest | None:
    """The newest backtest, whatever its status (the page shows a queued or failed one as such)."""
    return CoverageBacktest.objects.order_by("-created_at", "-pk").first()


def coverage_backtest_chart(backtest: CoverageBacktest) -> dict[str, Any]:
    """Realised bad debt per window against the predicted quantiles, for static/js/liquidations.js."""
    if backtest.status != BacktestStatus.SUCCEEDED:
        return {"labels": [], "realised": [], "quantiles": [], "exceeded": []}
    levels = [float(level) for level in backtest.quantile_levels]
    windows = backtest.windows
    return {
        "labels": [window["day"] for window in windows],
        "realised": [window["realised"] for window in windows],
        "quantiles": [
            {"label": f"{level:.0%} quantile", "data": [window["quantiles"][index] for window in windows]}
            for index, level in enumerate(levels)
        ],
        # windows above the highest quantile level are marked
        "exceeded": [bool(window["exceeded"][-1]) if levels else False for window in windows],
        "runs": [window["run_id"] for window in windows],
        "ages": [window["run_age_hours"] for window in windows],
    }
