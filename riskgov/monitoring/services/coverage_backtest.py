"""The coverage model held against realised bad debt: build and store a backtest (see domain/coverage_backtest.py).

For each day from ``start`` the baseline coverage run *current* at 00:00 UTC is the newest succeeded
baseline run finished before then, if it is at most ``max_run_age_hours`` old. Its per-path bad debt over
its horizon is the prediction for the window [day, day + horizon); the realised bad debt is the sum over
the liquidations in that window in the run's markets (chain events and imported history alike). The next
window starts at the first day boundary at or after this one's end, so windows never overlap and each
realised loss is counted once. Days without a current run, with a window not over yet, or whose run's
results cannot be read are listed as skipped with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from insurance.models import CoverageRun
from insurance.selectors.coverage import run_latest_baseline
from insurance.services.coverage_files import CoverageFileError, CoverageStorageUnavailable, arrays_read
from riskgov.core import dispatch
from riskgov.markets.models import Liquidation
from riskgov.monitoring.domain.coverage_backtest import (
    DEFAULT_LEVELS,
    FloatArray,
    coverage_backtest,
    predicted_probability_at_most,
    predicted_quantiles,
)
from riskgov.monitoring.models import BacktestStatus, CoverageBacktest

DEFAULT_MAX_RUN_AGE_HOURS = 48  # daily runs: yesterday's, or the day before's when one failed
MAX_DAYS = 366
DAY = timedelta(days=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True)
class _Prediction:
    run: CoverageRun
    bad_debt: FloatArray
    symbols: tuple[str, ...]
    quantiles: FloatArray


def _prediction(run: CoverageRun, levels: tuple[float, ...]) -> _Prediction:
    arrays = arrays_read(run.results_file, run.results_sha256, what="results")
    bad_debt = np.asarray(arrays["bad_debt_by_market"], dtype=np.float64).sum(axis=1)
    symbols = tuple(market["symbol"] for market in (run.market_inputs or {}).get("markets", []))
    return _Prediction(run, bad_debt, symbols, predicted_quantiles(bad_debt, levels))


def realised_bad_debt(*, since: datetime, until: datetime, symbols: tuple[str, ...]) -> Decimal:
    """Bad debt (quote units) of the liquidations in [since, until) in the markets ``symbols``."""
    total = Liquidation.objects.filter(
        liquidated_at__gte=since, liquidated_at__lt=until, market__symbol__in=symbols
    ).aggregate(total=Sum("bad_debt"))["total"]
    return total or Decimal(0)


def _next_start(window_end: datetime, current: datetime) -> datetime:
    """The first day boundary at or after ``window_end``, and at least a day after ``current``."""
    days = math.ceil((window_end - day_start(current.date())).total_seconds() / DAY.total_seconds())
    return day_start(current.date()) + max(1, days) * DAY


def _clean(start: date, end: date, levels: tuple[float, ...], max_run_age_hours: int) -> None:
    today = timezone.now().astimezone(UTC).date()
    if end < start:
        raise ValidationError({"end": f"The end ({end}) is before the start ({start})."})
    if end >= today:
        raise ValidationError({"end": f"The end must be a day that is over (before {today})."})
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationError({"start": f"At most {MAX_DAYS} days at once."})
    if not levels or not all(0.0 < level < 1.0 for level in levels):
        raise ValidationError({"levels": "Levels are fractions strictly between 0 and 1, e.g. 0.95."})
    if max_run_age_hours < 1:
        raise ValidationError({"max_run_age_hours": "A run must be allowed to be at least one hour old."})


COVERAGE_BACKTEST_TASK = "riskgov.coverage_backtest"
SCHEDULED_DAYS = 90
SCHEDULER = "scheduler"


def coverage_backtest_request(
    *,
    start: date,
    end: date,
    requested_by: str,
    levels: tuple[float, ...] = DEFAULT_LEVELS,
    max_run_age_hours: int = DEFAULT_MAX_RUN_AGE_HOURS,
    enqueue: bool = True,
) -> CoverageBacktest:
    """Queue a backtest of the baseline coverage runs against realised bad debt over ``start``…``end`` (UTC
    days, inclusive); a worker computes it (sent on commit). Levels are fractions (0.95 = the 95 % quantile).
    Raises ValidationError naming the field; nothing is stored then."""
    levels = tuple(sorted({float(level) for level in levels}))
    _clean(start, end, levels, max_run_age_hours)
    with transaction.atomic():
        backtest = CoverageBacktest.objects.create(
            requested_by=requested_by,
            start=start,
            end=end,
            max_run_age_hours=max_run_age_hours,
            quantile_levels=list(levels),
        )
        if enqueue:
            dispatch.send_on_commit(COVERAGE_BACKTEST_TASK, backtest_id=backtest.pk)
    return backtest


def coverage_backtest_compute(*, backtest_id: int) -> str:
    """Compute a queued backtest (once: a conditional UPDATE claims it); returns its final status, or
    "skipped" when another delivery already claimed it."""
    claimed = CoverageBacktest.objects.filter(pk=backtest_id, status=BacktestStatus.QUEUED).update(
        status=BacktestStatus.RUNNING
    )
    if not claimed:
        return "skipped"
    backtest = CoverageBacktest.objects.get(pk=backtest_id)
    try:
        windows, skipped = _windows(backtest)
        summaries = _level_summaries(windows, tuple(backtest.quantile_levels))
    except Exception as error:  # a bug or a lost store: say so on the row rather than stay "running"
        CoverageBacktest.objects.filter(pk=backtest_id).update(
            status=BacktestStatus.FAILED, error=f"{type(error).__name__}: {error}"[:2000], finished_at=timezone.now()
        )
        raise
    CoverageBacktest.objects.filter(pk=backtest_id).update(
        status=BacktestStatus.SUCCEEDED,
        windows=windows,
        skipped=skipped,
        levels=summaries,
        finished_at=timezone.now(),
    )
    return BacktestStatus.SUCCEEDED


def coverage_backtest_scheduled() -> CoverageBacktest:
    """The daily backtest (beat, after the daily coverage run): the SCHEDULED_DAYS days up to yesterday (UTC)."""
    end = timezone.now().astimezone(UTC).date() - DAY
    backtest = coverage_backtest_request(
        start=end - timedelta(days=SCHEDULED_DAYS - 1), end=end, requested_by=SCHEDULER, enqueue=False
    )
    coverage_backtest_compute(backtest_id=backtest.pk)
    backtest.refresh_from_db()
    return backtest


def _windows(backtest: CoverageBacktest) -> tuple[list[dict[str, object]], list[dict[str, str]]]:
    """The observed windows and the skipped days of ``backtest`` (see the module docstring)."""
    levels = tuple(float(level) for level in backtest.quantile_levels)
    max_run_age_hours = backtest.max_run_age_hours
    now = timezone.now()
    predictions: dict[int, _Prediction | str] = {}
    windows: list[dict[str, object]] = []
    skipped: list[dict[str, str]] = []
    current = day_start(backtest.start)
    stop = day_start(backtest.end) + DAY
    expected_next: datetime | None = None  # where the window after the last one would start
    while current < stop:
        day = current.date().isoformat()
        run = run_latest_baseline(before=current)
        age_hours = (current - run.finished_at).total_seconds() / 3600 if run and run.finished_at else None
        if run is None or age_hours is None or age_hours > max_run_age_hours:
            reason = "no baseline run finished before the day" if run is None else (
                f"the newest baseline run #{run.pk} was {age_hours:.0f} h old (more than {max_run_age_hours} h)"
            )  # fmt: skip
            skipped.append({"day": day, "reason": reason})
            current += DAY
            continue
        window_end = current + timedelta(days=float(run.horizon_days))
        if window_end > now:
            skipped.append({"day": day, "reason": f"its {run.horizon_days.normalize():f}-day window is not over yet"})
            current += DAY
            continue
        if run.pk not in predictions:
            try:
                predictions[run.pk] = _prediction(run, levels)
            except (CoverageFileError, CoverageStorageUnavailable, KeyError, ValueError) as error:
                predictions[run.pk] = f"the results of run #{run.pk} cannot be read ({error})"
        prediction = predictions[run.pk]
        if isinstance(prediction, str):
            skipped.append({"day": day, "reason": prediction})
            current += DAY
            continue
        realised = realised_bad_debt(since=current, until=window_end, symbols=prediction.symbols)
        windows.append(
            {
                "day": day,
                "start": current.isoformat(),
                "window_end": window_end.isoformat(),
                "run_id": run.pk,
                "run_finished_at": run.finished_at.isoformat() if run.finished_at else None,
                "run_age_hours": round(age_hours, 2),
                "horizon_days": float(run.horizon_days),
                "paths": int(prediction.bad_debt.size),
                "realised": float(realised),
                "quantiles": [float(v) for v in prediction.quantiles],
                "exceeded": [bool(float(realised) > v) for v in prediction.quantiles],
                "probability_at_most": predicted_probability_at_most(prediction.bad_debt, float(realised)),
                "follows_previous": expected_next == current,
            }
        )
        current = expected_next = _next_start(window_end, current)
    return windows, skipped


def _level_summaries(windows: list[dict[str, object]], levels: tuple[float, ...]) -> list[dict[str, object]]:
    realised = np.array([w["realised"] for w in windows], dtype=np.float64)
    quantiles = np.array([w["quantiles"] for w in windows], dtype=np.float64).reshape(len(windows), len(levels))
    adjacent = np.array([bool(window["follows_previous"]) for window in windows[1:]], dtype=bool)
    summaries: list[dict[str, object]] = []
    for result in coverage_backtest(realised, quantiles, levels, adjacent if len(windows) > 1 else None):
        summaries.append(
            {
                "level": result.level,
                "observations": result.observations,
                "exceedances": result.exceedances,
                "expected_rate": result.expected_rate,
                "exceedance_rate": result.exceedance_rate,
                "coverage": result.coverage,
                "kupiec_lr": result.kupiec.statistic,
                "kupiec_p_value": result.kupiec.p_value,
                "independence_lr": result.independence.statistic,
                "independence_p_value": result.independence.p_value,
            }
        )
    return summaries
