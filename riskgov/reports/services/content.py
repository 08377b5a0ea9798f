"""The figures of an exposure report, frozen as JSON, and its SVG charts.

Money and sizes are decimal strings in quote units; shares, rates and probabilities are fractions
(0.9 = 90 %); leverage is a multiple. Every figure is copied from the snapshot set, parameters,
ledger and coverage run it names, so the report stays readable after those move on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.urls import reverse

from insurance.selectors.scenarios import stress_results_latest
from riskgov.markets.models import PROTOCOL_SCOPE, ExposureSnapshot, MarginParameters
from riskgov.markets.selectors.exposure import snapshot_health
from riskgov.reports.domain.periods import ReportPeriod
from riskgov.reports.models import ReportKind, ReportSchedule
from riskgov.reports.selectors.reports import (
    insurance_at,
    parameter_changes_in_period,
    parameters_in_force,
    proposals_in_period,
    snapshot_in_period,
    snapshot_series_in_period,
    snapshot_set_at,
)
from riskgov.reports.services import charts as report_charts

CONTENT_VERSION = 1
NEAR_BANDS = ("5", "10", "20")
SHOCK_MOVES = (-50, -30, -20, -10, 10, 20, 30)
HEADLINE_MONEY = ("oi_long", "oi_short", "collateral", "liquidatable_notional")
HEADLINE_FLOATS = ("leverage_p50", "leverage_p90", "leverage_p99", "top10_share", "hhi")
HEADLINE_COUNTS = ("position_count", "account_count", "liquidatable_count")


def _money(value: Any) -> str | None:
    return None if value is None else str(Decimal(value))


SHOCK_KEY_TOLERANCE = 1e-9  # a move stored as a fraction (-0.1) equals the percent (-10) up to rounding


def _shock_value(shocks: dict[str, Any], move: int) -> str:
    """Bad debt at a move of `move` %; keys are stored as "-10" or "-0.1"-style strings."""
    for key, value in shocks.items():
        number = float(key)
        if number == move or abs(number * 100 - move) < SHOCK_KEY_TOLERANCE:
            return str(Decimal(str(value)))
    return "0"


def _near(snapshot: ExposureSnapshot) -> dict[str, dict[str, Any]]:
    near = snapshot.near_liquidation or {}
    bands = {band: near.get(band, {}) for band in NEAR_BANDS}
    return {
        band: {"count": int(v.get("count", 0)), "notional": _money(v.get("notional", 0))} for band, v in bands.items()
    }


def _top_accounts(snapshot: ExposureSnapshot) -> list[dict[str, Any]]:
    return [
        {"address": top.get("address", ""), "notional": _money(top.get("notional", 0)), "share": top.get("share")}
        for top in snapshot.top_accounts or []
    ]


def _ratio(value: float | None) -> float | str | None:
    """A float for JSON: unbounded leverage (equity ≤ 0) is kept as the text "inf", which JSON can hold."""
    if value is None or math.isfinite(value):
        return value
    return "inf" if value > 0 else "-inf"


def _headline(snapshot: ExposureSnapshot) -> dict[str, Any]:
    values: dict[str, Any] = {name: _money(getattr(snapshot, name)) for name in HEADLINE_MONEY}
    values["oi_net"] = _money(snapshot.oi_long - snapshot.oi_short)
    values.update({name: _ratio(getattr(snapshot, name)) for name in HEADLINE_FLOATS})
    values.update({name: int(getattr(snapshot, name)) for name in HEADLINE_COUNTS})
    return values


def _change(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    change: dict[str, Any] = {}
    for name in (*HEADLINE_MONEY, "oi_net"):
        change[name] = str(Decimal(current[name]) - Decimal(previous[name]))
    for name in (*HEADLINE_FLOATS, *HEADLINE_COUNTS):
        now, before = current[name], previous[name]
        comparable = isinstance(now, int | float) and isinstance(before, int | float)
        change[name] = now - before if comparable else None
    return change


def _market(
    snapshot: ExposureSnapshot, params: MarginParameters | None, previous: ExposureSnapshot | None
) -> dict[str, Any]:
    oi_cap = params.oi_cap if params is not None else None
    larger_side = max(snapshot.oi_long, snapshot.oi_short)
    return {
        "symbol": snapshot.scope,
        "mark_price": _money(snapshot.mark_price),
        **_headline(snapshot),
        "near_liquidation": _near(snapshot),
        "top_accounts": _top_accounts(snapshot),
        "leverage_histogram": snapshot.leverage_histogram or {},
        "shocks": {str(move): _shock_value(snapshot.shock_bad_debt or {}, move) for move in SHOCK_MOVES},
        "oi_cap": _money(oi_cap),
        "oi_cap_share": float(larger_side / oi_cap) if oi_cap else None,
        "parameters": None
        if params is None
        else {
            "version": params.version,
            "imr": str(params.imr),
            "mmr": str(params.mmr),
            "max_leverage": str(params.max_leverage),
            "liquidation_penalty": str(params.liquidation_penalty),
        },
        "change": None if previous is None else _change(_headline(snapshot), _headline(previous)),
    }


def _insurance(at: datetime) -> dict[str, Any] | None:
    state = insurance_at(at=at)
    if state is None:
        return None
    run: dict[str, Any] | None = None
    if state.run is not None and state.headline is not None:
        headline = state.headline
        finished_at = state.run.finished_at
        run = {
            "id": state.run.pk,
            "label": state.run.label,
            "purpose": state.run.purpose,
            "purpose_label": state.run.get_purpose_display(),
            "finished_at": finished_at.isoformat() if finished_at else None,
            "age_hours": (at - finished_at).total_seconds() / 3600 if finished_at else None,
            "url": reverse("insurance:run-detail", args=[state.run.pk]),
            "paths": headline.paths,
            "fund_balance": headline.fund_balance,
            "coverage_ratio": headline.coverage_ratio.value,
            "exhaustion_probability": headline.exhaustion_probability.value,
            "exhaustion_probability_high": headline.exhaustion_probability.high,
            "es99": headline.es99.value,
            "var99": headline.var99.value,
            "required_fund": headline.required_fund.value,
            "target_exhaustion_probability": headline.target_exhaustion_probability,
        }
    trend = [
        {
            "run_id": point.run_id,
            "finished_at": point.finished_at.isoformat(),
            "exhaustion_probability": point.exhaustion_probability,
            "es99": point.es99,
            "coverage_ratio": point.coverage_ratio,
            "required_fund": point.required_fund,
        }
        for point in state.trend
    ]
    return {"fund": state.fund.name, "balance": _money(state.balance), "run": run, "trend": trend}


def _stress(at: datetime) -> list[dict[str, Any]]:
    """The stress table: per scenario, the latest stress run that succeeded before `at`, naming the run and its age
    (hours before `at`). Stress runs never feed the headline; this table is the only place they enter a report."""
    rows = []
    for result in stress_results_latest(before=at):
        headline = result.headline
        rows.append(
            {
                "scenario": result.slug,
                "name": result.name,
                "run_id": result.run.pk,
                "run_label": result.run.label,
                "url": reverse("insurance:run-detail", args=[result.run.pk]),
                "finished_at": result.finished_at.isoformat(),
                "age_hours": result.age_hours,
                "paths": headline.paths,
                "noise": bool((result.run.model_params or {}).get("noise")),
                "fund_balance": headline.fund_balance,
                "mean_bad_debt": headline.mean_bad_debt.value,
                "es99": headline.es99.value,
                "exhaustion_probability": headline.exhaustion_probability.value,
                "mean_uncovered_loss": result.mean_uncovered_loss,
                "worst_liquidated_notional": result.worst_liquidated_notional,
            }
        )
    return rows


def _parameter_changes(period: ReportPeriod, markets: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for version, replaced in parameter_changes_in_period(start=period.start, end=period.end, markets=markets):
        changed = {
            name: [None if replaced is None else _money(old), _money(new)]
            for name, new in version.values().items()
            if (old := (None if replaced is None else replaced.values()[name])) != new
        }
        rows.append(
            {
                "market": version.market.symbol,
                "version": version.version,
                "effective_at": version.effective_at.isoformat(),
                "source": version.source,
                "source_label": version.get_source_display(),
                "reason": version.reason,
                "actor": version.actor,
                "proposal_ref": version.proposal_ref,
                "changes": changed,
            }
        )
    return rows


def _proposals(period: ReportPeriod, markets: list[Any]) -> list[dict[str, Any]]:
    symbols = {m.symbol for m in markets}
    rows = []
    for row in proposals_in_period(start=period.start, end=period.end):
        proposal = row.proposal
        touched = sorted({change.market.symbol for change in proposal.changes.all()})
        if symbols and not symbols.intersection(touched):
            continue
        rows.append(
            {
                "id": proposal.pk,
                "ref": f"#{proposal.pk}",
                "title": proposal.title,
                "state": row.state,
                "state_label": row.state_label,
                "markets": touched,
                "vote_count": proposal.vote_count,
                "voting_ends_at": proposal.voting_ends_at.isoformat(),
                "url": reverse("governance:proposal-detail", args=[proposal.pk]),
            }
        )
    return rows


@dataclass(frozen=True)
class Thresholds:
    coverage_ratio_min: float
    oi_cap_share_max: float
    top10_share_max: float
    exhaustion_probability_max: float

    @classmethod
    def of(cls, schedule: ReportSchedule) -> Thresholds:
        return cls(
            float(schedule.coverage_ratio_min),
            float(schedule.oi_cap_share_max),
            float(schedule.top10_share_max),
            float(schedule.exhaustion_probability_max),
        )


def report_alerts(content: dict[str, Any], thresholds: Thresholds) -> list[dict[str, Any]]:
    """Thresholds crossed by the report's figures; each alert names the rule, scope, value and limit."""
    alerts: list[dict[str, Any]] = []

    def add(code: str, scope: str, value: float, limit: float, message: str) -> None:
        alerts.append({"code": code, "scope": scope, "value": value, "threshold": limit, "message": message})

    run = (content.get("insurance") or {}).get("run")
    if run is not None:
        ratio = run["coverage_ratio"]
        if ratio is not None and ratio < thresholds.coverage_ratio_min:
            add(
                "coverage_ratio",
                PROTOCOL_SCOPE,
                ratio,
                thresholds.coverage_ratio_min,
                f"Coverage ratio {ratio:.2f} is below {thresholds.coverage_ratio_min:g}.",
            )
        exhaustion = run["exhaustion_probability"]
        if exhaustion is not None and exhaustion > thresholds.exhaustion_probability_max:
            add(
                "exhaustion_probability",
                PROTOCOL_SCOPE,
                exhaustion,
                thresholds.exhaustion_probability_max,
                f"P(fund exhausted) {exhaustion:.2%} is above {thresholds.exhaustion_probability_max:.2%}.",
            )
    headline = content.get("headline")
    scopes = [(PROTOCOL_SCOPE, headline)] if headline else []
    if content["kind"] == ReportKind.MARKET_DETAIL:
        scopes += [(m["symbol"], m) for m in content["markets"]]
    for scope, figures in scopes:
        share = figures.get("top10_share")
        if share is not None and share > thresholds.top10_share_max:
            add(
                "top10_share",
                scope,
                share,
                thresholds.top10_share_max,
                f"{'Top-10 accounts' if scope == PROTOCOL_SCOPE else scope + ' top-10 accounts'} hold "
                f"{share:.1%} of notional, above {thresholds.top10_share_max:.0%}.",
            )
    for market in content["markets"]:
        cap_share = market["oi_cap_share"]
        if cap_share is not None and cap_share > thresholds.oi_cap_share_max:
            add(
                "oi_cap",
                market["symbol"],
                cap_share,
                thresholds.oi_cap_share_max,
                f"{market['symbol']} open interest is {cap_share:.1%} of its cap, above "
                f"{thresholds.oi_cap_share_max:.0%}.",
            )
    return alerts


def _snapshot_failing(until: datetime) -> dict[str, str] | None:
    """When the snapshot task was failing by the end of the period: since when and why (its figures may be old)."""
    health = snapshot_health()
    if health.failing_since is None or health.failing_since > until:
        return None
    return {"since": health.failing_since.isoformat(), "error": health.last_error}


def report_content_build(
    *, schedule: ReportSchedule, period: ReportPeriod
) -> tuple[dict[str, Any], ExposureSnapshot | None]:
    """All figures of `schedule`'s report for `period`, and the protocol snapshot they come from.

    The snapshot is the last one taken in the period; "change" compares it with the last one of the
    previous period. With no snapshot in the period the content says so (has_data false) and holds
    no exposure figures; insurance and parameter changes are still reported.
    """
    markets = list(schedule.markets.all())
    snapshot = snapshot_in_period(start=period.start, end=period.end)
    previous_period = period.previous()
    previous = snapshot_in_period(start=previous_period.start, end=previous_period.end)
    content: dict[str, Any] = {
        "version": CONTENT_VERSION,
        "kind": schedule.kind,
        "schedule": {
            "id": schedule.pk,
            "name": schedule.name,
            "cadence": schedule.cadence,
            "markets": [m.symbol for m in markets],
        },
        "period": {"label": period.label, "start": period.start.isoformat(), "end": period.end.isoformat()},
        "has_data": snapshot is not None,
        "snapshot": None,
        "previous": None,
        "headline": None,
        "change": None,
        "near_liquidation": None,
        "top_accounts": [],
        "shock_moves": [str(move) for move in SHOCK_MOVES],
        "shocks": {},
        "markets": [],
        "insurance": _insurance(period.end),
        "stress": _stress(period.end),
        "parameter_changes": _parameter_changes(period, markets),
        "proposals": _proposals(period, markets),
        "thresholds": {},
        "snapshot_failing": _snapshot_failing(period.end),
    }
    if snapshot is not None:
        rows = snapshot_set_at(taken_at=snapshot.taken_at)
        protocol = rows[0]
        wanted = {m.symbol for m in markets}
        market_rows = [r for r in rows[1:] if not wanted or r.scope in wanted]
        before = {r.scope: r for r in snapshot_set_at(taken_at=previous.taken_at)} if previous else {}
        params = parameters_in_force(at=snapshot.taken_at, markets=[r.market for r in market_rows if r.market])
        content.update(
            {
                "snapshot": {"id": protocol.pk, "taken_at": protocol.taken_at.isoformat()},
                "previous": None
                if previous is None
                else {
                    "id": previous.pk,
                    "taken_at": previous.taken_at.isoformat(),
                    "period_label": previous_period.label,
                },
                "headline": _headline(protocol),
                "change": None if previous is None else _change(_headline(protocol), _headline(previous)),
                "near_liquidation": _near(protocol),
                "top_accounts": _top_accounts(protocol),
                "leverage_histogram": protocol.leverage_histogram or {},
                "shocks": {str(move): _shock_value(protocol.shock_bad_debt or {}, move) for move in SHOCK_MOVES},
                "markets": [_market(row, params.get(row.market_id or 0), before.get(row.scope)) for row in market_rows],
            }
        )
    thresholds = Thresholds.of(schedule)
    content["thresholds"] = {
        "coverage_ratio_min": thresholds.coverage_ratio_min,
        "oi_cap_share_max": thresholds.oi_cap_share_max,
        "top10_share_max": thresholds.top10_share_max,
        "exhaustion_probability_max": thresholds.exhaustion_probability_max,
    }
    content["alerts"] = report_alerts(content, thresholds)
    return content, snapshot


def _shock_label(move: str) -> str:
    return f"{int(move):+d} %"


def report_charts_render(*, content: dict[str, Any], period: ReportPeriod) -> dict[str, str]:
    """SVG charts for the report: the baseline coverage trend, and exposure charts when the period has data."""
    charts: dict[str, str] = {}
    trend = (content.get("insurance") or {}).get("trend") or []
    if len(trend) > 1:
        charts["coverage_trend"] = report_charts.chart_coverage_trend(
            times=[datetime.fromisoformat(point["finished_at"]) for point in trend],
            es99=[point["es99"] for point in trend],
            required_fund=[point["required_fund"] for point in trend],
            exhaustion_probability=[point["exhaustion_probability"] for point in trend],
        )
    if not content["has_data"]:
        return charts
    series = snapshot_series_in_period(scope=PROTOCOL_SCOPE, start=period.start, end=period.end)
    if len(series) > 1:
        charts["history"] = _history(series, "Protocol exposure over the period", scope="history")
    markets = content["markets"]
    if markets:
        charts["open_interest"] = report_charts.chart_open_interest(
            markets=[m["symbol"] for m in markets],
            long=[float(m["oi_long"]) for m in markets],
            short=[float(m["oi_short"]) for m in markets],
        )
    moves = content["shock_moves"]
    charts["shocks"] = report_charts.chart_shocks(
        labels=[_shock_label(m) for m in moves], bad_debt=[float(content["shocks"][m]) for m in moves]
    )
    histogram = content.get("leverage_histogram") or {}
    if histogram.get("labels"):
        charts["leverage"] = report_charts.chart_leverage(labels=histogram["labels"], counts=histogram["counts"])
    if content["kind"] == ReportKind.MARKET_DETAIL:
        for market in markets:
            symbol = market["symbol"]
            history = snapshot_series_in_period(scope=symbol, start=period.start, end=period.end)
            if len(history) > 1:
                charts[f"history:{symbol}"] = _history(
                    history, f"{symbol} exposure over the period", scope=f"history-{symbol}", half=True
                )
            bins = market["leverage_histogram"]
            if bins.get("labels"):
                charts[f"leverage:{symbol}"] = report_charts.chart_leverage(
                    scope=f"leverage-{symbol}",
                    labels=bins["labels"],
                    counts=bins["counts"],
                    title=f"{symbol} leverage distribution",
                )
    return charts


def _history(series: list[tuple[datetime, Any, Any, dict]], title: str, *, scope: str, half: bool = False) -> str:
    return report_charts.chart_history(
        scope=scope,
        half=half,
        times=[row[0] for row in series],
        long=[float(row[1]) for row in series],
        short=[float(row[2]) for row in series],
        near10=[float((row[3] or {}).get("10", {}).get("notional", 0.0)) for row in series],
        title=title,
    )
