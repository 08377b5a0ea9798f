"""The scenario library's writes: saving replays, and the path a stress run freezes with its inputs.

A shock's path is its waypoints times each market's beta; a replay's is each market's log return since the start
of its window of stored hourly prices, multiplied by the scenario's scale (see `insurance.engine.stress`). Changes
are fractions of today's price (−0.2 = −20 %), hours count from the start of the scenario.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from insurance.models import MAX_REPLAY_DAYS, MAX_SCALE, Scenario, ScenarioKind
from insurance.selectors.price_history import hourly_log_price_grid
from insurance.selectors.scenarios import scenario_path
from riskgov.core.models import AuditAction
from riskgov.core.services.audit import audit_record
from riskgov.markets.models import Market, PriceObservation

MIN_REPLAY_PRICES = 2  # a return needs two prices
SLUG_LENGTH = 56


def stress_params_freeze(
    *, params: Mapping[str, Any], symbols: Sequence[str], horizon_hours: float | None = None
) -> dict[str, Any]:
    """A stress run's cleaned `params` with the path of its scenario for the run's markets (`symbols`, in the
    order the run simulates them) frozen in: only as far as the run's horizon reaches (one point past it, to
    interpolate at the horizon), so a long replay window does not weigh on every run row.

    Raises ValidationError on `model_params` when the scenario is gone or a replay's window has no stored price
    for any of the simulated markets.
    """
    scenario = Scenario.objects.filter(slug=params["scenario"]).first()
    if scenario is None:
        raise ValidationError({"model_params": f"scenario {params['scenario']!r} is not in the scenario library."})
    by_symbol = {market.symbol: market for market in Market.objects.filter(symbol__in=list(symbols))}
    markets = [by_symbol[symbol] for symbol in symbols]
    path = scenario_path(scenario=scenario, markets=markets)
    if scenario.is_replay and markets and len(path.flat) == len(markets):
        raise ValidationError(
            {
                "model_params": f"The window of {scenario.name!r} holds no stored price of the simulated markets "
                f"({', '.join(path.symbols)}); pick another window."
            }
        )
    return {**params, "path": path.until(horizon_hours).to_params(scenario)}


def _replay_window_check(*, replay_start: datetime, replay_end: datetime) -> None:
    if replay_end <= replay_start:
        raise ValidationError({"replay_end": "The end of the window must come after its start."})
    if replay_end > timezone.now():
        raise ValidationError({"replay_end": "The window must lie in stored history; its end is in the future."})
    if replay_end - replay_start > timedelta(days=MAX_REPLAY_DAYS):
        raise ValidationError({"replay_end": f"A replay window can be at most {MAX_REPLAY_DAYS} days long."})
    if replay_end - replay_start < timedelta(hours=MIN_REPLAY_PRICES):
        raise ValidationError({"replay_end": "A replay window must be at least two hours long (two hourly prices)."})
    market_ids = (
        PriceObservation.objects.filter(observed_at__gt=replay_start, observed_at__lte=replay_end)
        .values_list("market_id", flat=True)
        .distinct()
    )
    markets = list(Market.objects.filter(pk__in=market_ids).order_by("symbol"))
    grid = hourly_log_price_grid(markets, replay_start, replay_end) if markets else np.empty((0, 0))
    if not markets or int(np.isfinite(grid).sum(axis=0).max()) < MIN_REPLAY_PRICES:
        raise ValidationError(
            {
                "replay_start": f"No market has stored prices in two different hours between "
                f"{replay_start:%Y-%m-%d %H:%M} and {replay_end:%Y-%m-%d %H:%M} UTC; pick a window with price history."
            }
        )


RESERVED_SLUGS = frozenset({"new", "compare"})  # the Scenarios pages' own paths


def _unique_slug(name: str) -> str:
    base = slugify(name)[:SLUG_LENGTH].strip("-") or "replay"
    slug, n = base, 1
    while slug in RESERVED_SLUGS or Scenario.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def scenario_replay_save(
    *,
    name: str,
    replay_start: datetime,
    replay_end: datetime,
    actor: str,
    scale: Decimal = Decimal("1"),
    description: str = "",
    source: str = "",
    scenario: Scenario | None = None,
) -> Scenario:
    """Create a replay scenario (or change `scenario`, a replay) over [replay_start, replay_end] of stored prices.

    `scale` multiplies every log return (1 = the window as it was). Raises ValidationError naming the field: the
    window must end after it starts, not in the future, last 2 h…MAX_REPLAY_DAYS days, and hold prices of some
    market in two different hours; scale in (0, MAX_SCALE]. Nothing is written then. A replay's slug is fixed
    when it is created, so runs keep naming it.
    """
    if scenario is not None and not scenario.is_replay:
        raise ValidationError({"kind": f"{scenario.name!r} is a library shock; only replays can be edited here."})
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the scenario a name."})
    if not (Decimal("0") < scale <= MAX_SCALE):
        raise ValidationError({"scale": f"The scale must be above 0 and at most {MAX_SCALE} (1 = as it was)."})
    _replay_window_check(replay_start=replay_start, replay_end=replay_end)
    with transaction.atomic():
        if scenario is None:
            scenario = Scenario(kind=ScenarioKind.REPLAY, slug=_unique_slug(name), created_by=actor)
        else:
            scenario = Scenario.objects.select_for_update().get(pk=scenario.pk)
        scenario.name = name
        scenario.description = description.strip()
        scenario.source = source.strip()
        scenario.replay_start = replay_start
        scenario.replay_end = replay_end
        scenario.scale = scale
        scenario.full_clean()
        scenario.save()
        audit_record(
            action=AuditAction.SCENARIO_SAVED,
            subject=scenario,
            actor=actor,
            data={
                "slug": scenario.slug,
                "replay_start": replay_start.isoformat(),
                "replay_end": replay_end.isoformat(),
                "scale": str(scale),
            },
        )
    return scenario
