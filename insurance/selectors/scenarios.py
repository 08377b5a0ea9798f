"""Reads about the scenario library: scenarios, the path each gives today's markets (for charts), the stress
runs of a scenario, and the latest stress result per scenario (the Scenarios page and the reports' stress table).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from insurance.engine.stress import replay_changes, shock_changes
from insurance.models import CoverageRun, PriceModelKind, RunPurpose, RunStatus, Scenario
from insurance.selectors.coverage import Headline, run_headline
from insurance.selectors.price_history import hourly_log_price_grid
from riskgov.markets.models import Market
from riskgov.markets.selectors.markets import market_states

CHART_POINTS = 240  # a replay's hourly path is thinned to about this many points for a chart
RECENT_SCAN = 1000  # the newest stress runs looked at for the latest result per scenario


@dataclass(frozen=True)
class ScenarioPathData:
    """A scenario's path for `symbols`: changes[k][m] is market m's change `hours[k]` hours in.

    `flat` lists the markets a replay window holds no price for (they do not move).
    """

    hours: list[float]
    changes: list[list[float]]
    symbols: list[str]
    flat: list[str]

    def until(self, hours: float | None) -> ScenarioPathData:
        """The path up to `hours` and one point past it (what interpolation up to `hours` reads); all without."""
        if hours is None:
            return self
        keep = min(len(self.hours), 1 + sum(1 for h in self.hours if h < hours))
        return ScenarioPathData(self.hours[:keep], self.changes[:keep], self.symbols, self.flat)

    def to_params(self, scenario: Scenario) -> dict[str, Any]:
        """The frozen form stored in a stress run's `model_params["path"]`."""
        frozen: dict[str, Any] = {
            "kind": scenario.kind,
            "name": scenario.name,
            "symbols": self.symbols,
            "hours": self.hours,
            "changes": self.changes,
            "flat": self.flat,
        }
        if scenario.is_replay:
            frozen.update(
                {
                    "window": [scenario.replay_start.isoformat(), scenario.replay_end.isoformat()],  # type: ignore[union-attr]
                    "scale": str(scenario.scale),
                }
            )
        else:
            frozen["betas"] = {symbol: scenario.beta_for(symbol) for symbol in self.symbols}
        return frozen


def scenario_path(*, scenario: Scenario, markets: Sequence[Market]) -> ScenarioPathData:
    """The path `scenario` gives `markets` (in their order); a replay reads the stored prices of its window."""
    symbols = [market.symbol for market in markets]
    if not scenario.is_replay:
        hours, changes = shock_changes(
            tuple((float(h), float(c)) for h, c in scenario.waypoints), [scenario.beta_for(s) for s in symbols]
        )
        return ScenarioPathData(hours.tolist(), changes.tolist(), symbols, [])
    if scenario.replay_start is None or scenario.replay_end is None:
        raise ValidationError({"replay_start": "A replay needs the start and the end of its window."})
    if not markets:
        return ScenarioPathData([0.0], [[]], [], [])
    grid = hourly_log_price_grid(list(markets), scenario.replay_start, scenario.replay_end)
    hours, changes, covered = replay_changes(grid, float(scenario.scale))
    flat = [symbol for symbol, has in zip(symbols, covered, strict=True) if not has]
    return ScenarioPathData(hours.tolist(), changes.tolist(), symbols, flat)


def scenario_list() -> QuerySet[Scenario]:
    return Scenario.objects.order_by("kind", "name", "pk")


def scenario_get(*, slug: str) -> Scenario | None:
    return Scenario.objects.filter(slug=slug).first()


def scenario_markets(at: datetime | None = None) -> list[Market]:
    """The markets a run started now would simulate (active, with a mark price and parameters), by symbol."""
    states = market_states(at or timezone.now())
    return [s.market for s in states if s.mark_price is not None and s.parameters is not None]


def scenario_chart(path: ScenarioPathData) -> dict[str, Any]:
    """A path as Chart.js data: hours and, per market, the change in percent (thinned to about CHART_POINTS)."""
    keep = list(range(len(path.hours)))
    if len(keep) > CHART_POINTS:
        step = -(-len(keep) // CHART_POINTS)
        keep = sorted({*keep[::step], keep[-1]})
    return {
        "hours": [path.hours[i] for i in keep],
        "series": [
            {"symbol": symbol, "change_pct": [round(100 * path.changes[i][m], 4) for i in keep]}
            for m, symbol in enumerate(path.symbols)
        ],
    }


def scenario_paths(scenarios: Sequence[Scenario], markets: Sequence[Market]) -> dict[int, ScenarioPathData]:
    """Scenario id → its path for `markets`."""
    return {scenario.pk: scenario_path(scenario=scenario, markets=markets) for scenario in scenarios}


def _stress_runs() -> QuerySet[CoverageRun]:
    return CoverageRun.objects.filter(model=PriceModelKind.STRESS, purpose=RunPurpose.STRESS)


def scenario_runs(*, scenario: Scenario, limit: int = 20) -> list[CoverageRun]:
    """The newest stress runs of `scenario`, any status."""
    return list(
        _stress_runs()
        .filter(model_params__scenario=scenario.slug)
        .defer("market_inputs")
        .order_by("-created_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class StressResult:
    """The latest succeeded stress run of one scenario: money in quote units, probabilities as fractions."""

    slug: str
    name: str
    run: CoverageRun
    headline: Headline
    age_hours: float
    mean_uncovered_loss: float | None
    worst_liquidated_notional: float | None

    @property
    def finished_at(self) -> datetime:
        return self.run.finished_at or self.run.created_at


def stress_results_latest(*, before: datetime | None = None, slugs: Sequence[str] | None = None) -> list[StressResult]:
    """Per scenario, its newest stress run that succeeded (before `before`, when given), in library order.

    A scenario no longer in the library still shows under its slug; age is counted to `before` (or now).
    """
    at = before or timezone.now()
    runs = _stress_runs().filter(status=RunStatus.SUCCEEDED, finished_at__isnull=False)
    if before is not None:
        runs = runs.filter(finished_at__lt=before)
    if slugs is not None:
        runs = runs.filter(model_params__scenario__in=list(slugs))
    latest: dict[str, int] = {}
    for pk, slug in runs.order_by("-finished_at", "-pk").values_list("pk", "model_params__scenario")[:RECENT_SCAN]:
        latest.setdefault(slug, pk)
    chosen = {run.pk: run for run in CoverageRun.objects.filter(pk__in=latest.values()).defer("market_inputs")}
    names = dict(Scenario.objects.filter(slug__in=latest).values_list("slug", "name"))
    order = {slug: i for i, slug in enumerate(scenario_list().values_list("slug", flat=True))}
    results = []
    for slug in sorted(latest, key=lambda s: (order.get(s, len(order)), s)):
        run = chosen[latest[slug]]
        headline = run_headline(run)
        if headline is None:
            continue
        summary = (run.metrics or {}).get("summary", {})
        uncovered = (summary.get("mean_uncovered_loss") or {}).get("value")
        worst = (run.metrics or {}).get("worst_paths") or []
        results.append(
            StressResult(
                slug=slug,
                name=names.get(slug, slug),
                run=run,
                headline=headline,
                age_hours=(at - (run.finished_at or at)).total_seconds() / 3600,
                mean_uncovered_loss=uncovered,
                worst_liquidated_notional=worst[0]["liquidated_notional"] if worst else None,
            )
        )
    return results
