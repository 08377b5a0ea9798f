"""Reads about coverage runs: lists, headline figures, live progress, per-path tables for downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import QuerySet
from django.utils import timezone

from insurance.models import CoverageRun, InsuranceFund, RunPurpose, RunStatus
from insurance.services.coverage_files import arrays_read

HEADLINE_TAIL_LEVEL = 0.99  # the headline VaR and expected shortfall are the 99 % tail
TAIL_LEVEL_TOLERANCE = 1e-9  # tail levels come back from JSON as floats


def run_list(*, limit: int = 50) -> QuerySet[CoverageRun]:
    """The newest runs, without their bulky JSON columns."""
    return (
        CoverageRun.objects.select_related("fund")
        .defer("metrics", "market_inputs")
        .order_by("-created_at", "-pk")[:limit]
    )


def baseline_runs(*, fund: InsuranceFund | None = None, before: datetime | None = None) -> QuerySet[CoverageRun]:
    """Succeeded baseline runs, newest first; what-if, proposal and stress runs never count here."""
    runs = CoverageRun.objects.filter(purpose=RunPurpose.BASELINE, status=RunStatus.SUCCEEDED)
    if fund is not None:
        runs = runs.filter(fund=fund)
    if before is not None:
        runs = runs.filter(finished_at__lt=before)
    return runs.order_by("-finished_at", "-pk")


def run_latest_baseline(*, fund: InsuranceFund | None = None, before: datetime | None = None) -> CoverageRun | None:
    """The newest succeeded baseline run (finished before `before` when given): the one headline figures use."""
    return baseline_runs(fund=fund, before=before).first()


@dataclass(frozen=True)
class TrendPoint:
    """One baseline run on the coverage trend: money in quote units, probability as a fraction."""

    run_id: int
    finished_at: datetime
    exhaustion_probability: float | None
    es99: float | None
    coverage_ratio: float | None  # None: unbounded (no expected shortfall)
    required_fund: float | None
    fund_balance: float


def coverage_trend(
    *, fund: InsuranceFund | None = None, before: datetime | None = None, limit: int = 90
) -> list[TrendPoint]:
    """Headline figures of the last `limit` baseline runs, oldest first."""
    runs = list(baseline_runs(fund=fund, before=before).only("pk", "finished_at", "fund_balance", "metrics")[:limit])
    points = []
    for run in reversed(runs):
        headline = run_headline(run)
        if headline is None or run.finished_at is None:
            continue
        points.append(
            TrendPoint(
                run_id=run.pk,
                finished_at=run.finished_at,
                exhaustion_probability=headline.exhaustion_probability.value,
                es99=headline.es99.value,
                coverage_ratio=headline.coverage_ratio.value,
                required_fund=headline.required_fund.value,
                fund_balance=float(run.fund_balance),
            )
        )
    return points


def coverage_trend_chart(points: list[TrendPoint]) -> dict[str, list[Any]]:
    """The trend as parallel lists for Chart.js (ISO times; None where a figure is unbounded)."""
    return {
        "t": [point.finished_at.isoformat() for point in points],
        "run": [point.run_id for point in points],
        "exhaustion_probability": [point.exhaustion_probability for point in points],
        "es99": [point.es99 for point in points],
        "coverage_ratio": [point.coverage_ratio for point in points],
        "required_fund": [point.required_fund for point in points],
    }


@dataclass(frozen=True)
class Figure:
    """A headline number with its confidence interval; None stands for unbounded (e.g. coverage with no loss)."""

    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Headline:
    exhaustion_probability: Figure
    es99: Figure
    var99: Figure
    coverage_ratio: Figure
    required_fund: Figure
    mean_bad_debt: Figure
    target_exhaustion_probability: float
    confidence: float
    fund_balance: float
    paths: int


def _figure(data: dict[str, Any]) -> Figure:
    return Figure(data.get("value"), data.get("low"), data.get("high"))


def run_headline(run: CoverageRun) -> Headline | None:
    """Headline figures of a succeeded run (quote units, probabilities as fractions)."""
    if not run.metrics:
        return None
    summary = run.metrics["summary"]
    tail99 = next(
        entry for entry in summary["tail"] if abs(entry["level"] - HEADLINE_TAIL_LEVEL) < TAIL_LEVEL_TOLERANCE
    )
    return Headline(
        exhaustion_probability=_figure(summary["exhaustion_probability"]),
        es99=_figure(tail99["expected_shortfall"]),
        var99=_figure(tail99["value_at_risk"]),
        coverage_ratio=_figure(summary["coverage_ratio"]),
        required_fund=_figure(summary["required_fund"]),
        mean_bad_debt=_figure(summary["mean_bad_debt"]),
        target_exhaustion_probability=summary["target_exhaustion_probability"],
        confidence=summary["confidence"],
        fund_balance=summary["fund_balance"],
        paths=summary["paths"],
    )


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    percent: float
    elapsed_seconds: float | None
    eta_seconds: float | None


def run_progress(run: CoverageRun) -> Progress:
    """Chunks done, and an ETA from the pace so far (None until a chunk has finished)."""
    elapsed = (timezone.now() - run.started_at).total_seconds() if run.started_at else None
    if run.finished_at and run.started_at:
        elapsed = (run.finished_at - run.started_at).total_seconds()
    eta = None
    if elapsed is not None and run.is_active and 0 < run.chunks_done < run.chunk_count:
        eta = elapsed / run.chunks_done * (run.chunk_count - run.chunks_done)
    percent = 100.0 * run.chunks_done / run.chunk_count if run.chunk_count else 0.0
    return Progress(run.chunks_done, run.chunk_count, percent, elapsed, eta)


def run_per_path_columns(run: CoverageRun) -> dict[str, np.ndarray]:
    """Per-path results of a succeeded run: path, totals, and bad debt per market (quote units)."""
    arrays = arrays_read(run.results_file, run.results_sha256, what="results")
    symbols = [market["symbol"] for market in run.market_inputs["markets"]]
    start, stop = (int(value) for value in arrays["path_range"])
    columns: dict[str, np.ndarray] = {
        "path": np.arange(start, stop),
        "bad_debt": arrays["bad_debt_by_market"].sum(axis=1),
        "penalty_income": arrays["penalty_by_market"].sum(axis=1),
    }
    for name in (
        "uncovered_loss",
        "liquidated_notional",
        "liquidated_positions",
        "fund_end",
        "exhausted",
        "required_fund",
    ):
        columns[name] = arrays[name]
    for index, symbol in enumerate(symbols):
        columns[f"bad_debt_{symbol}"] = arrays["bad_debt_by_market"][:, index]
    return columns


def run_per_path_csv(run: CoverageRun) -> str:
    """The per-path table of a succeeded run as CSV text, one row per path (see `run_per_path_columns`).

    Raises CoverageFileError when the results file is missing or altered.
    """
    return "".join(run_per_path_csv_chunks(run))


def _csv_cells(values: np.ndarray) -> list[object]:
    """A column's cells: floats written out in full without an exponent (0.00001, not 1e-05), the rest as is."""
    if values.dtype.kind != "f":
        return list(values.tolist())
    return [np.format_float_positional(value, trim="-") for value in values.tolist()]


def run_per_path_csv_chunks(run: CoverageRun, *, rows_per_chunk: int = 2000) -> Iterator[str]:
    """The per-path CSV as text chunks of `rows_per_chunk` rows, for a streamed download (never one string).

    The results file is read and checked before the first chunk, so CoverageFileError comes before any byte.
    """
    columns = run_per_path_columns(run)
    arrays = list(columns.values())
    total = len(arrays[0]) if arrays else 0

    def chunks() -> Iterator[str]:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(columns)
        for start in range(0, total, rows_per_chunk):
            columns_text = [_csv_cells(a[start : start + rows_per_chunk]) for a in arrays]
            writer.writerows(zip(*columns_text, strict=True))
            yield text.getvalue()
            text.seek(0)
            text.truncate()
        if text.tell():
            yield text.getvalue()

    return chunks()


def run_export(run: CoverageRun) -> dict[str, Any]:
    """Inputs, status and metrics of a run as one JSON document."""
    return {
        "id": run.pk,
        "label": run.label,
        "status": run.status,
        "purpose": run.purpose,
        "requested_by": run.requested_by,
        "created_at": run.created_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error,
        "engine_version": run.engine_version,
        "inputs": {
            "fund": run.fund.name if run.fund else None,
            "fund_balance": str(run.fund_balance),
            "model": run.model,
            "model_params": run.model_params,
            "paths": run.paths,
            "steps": run.steps,
            "horizon_days": str(run.horizon_days),
            "impact": run.impact,
            "impact_coefficient": str(run.impact_coefficient),
            "cascade": run.cascade,
            "liquidation_delay_steps": run.liquidation_delay_steps,
            "seed": run.seed,
            "chunk_size": run.chunk_size,
            "target_exhaustion_probability": str(run.target_exhaustion_probability),
            "volatility_window_days": run.volatility_window_days,
            "parameter_set": run.parameter_set,
            "parameter_versions": run.parameter_versions,
            "parameter_overrides": run.parameter_overrides,
            "positions": run.position_count,
            "markets": run.market_inputs,
            "inputs_sha256": run.inputs_sha256,
            "book_sha256": run.book_sha256,
        },
        "metrics": run.metrics,
        "results_sha256": run.results_sha256,
    }
