"""Backtest the baseline coverage runs against realised bad debt, here and now (the page queues it on a worker)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from riskgov.core.templatetags.riskgov_format import p_value
from riskgov.monitoring.domain.coverage_backtest import DEFAULT_LEVELS
from riskgov.monitoring.models import CoverageBacktest
from riskgov.monitoring.services.coverage_backtest import (
    DEFAULT_MAX_RUN_AGE_HOURS,
    coverage_backtest_compute,
    coverage_backtest_request,
)


class Command(BaseCommand):
    help = (
        "Compare each day's realised bad debt (liquidations from the chain and imported history) with the "
        "predicted distribution of the baseline coverage run current at its start: exceedances of the predicted "
        "quantiles, Kupiec's POF test and Christoffersen's independence test. Stores the backtest and prints it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30, help="Days up to yesterday (UTC) to backtest.")
        parser.add_argument("--start", type=date.fromisoformat, help="First day (YYYY-MM-DD) instead of --days.")
        parser.add_argument("--end", type=date.fromisoformat, help="Last day (default yesterday, UTC).")
        parser.add_argument("--levels", default=",".join(str(q) for q in DEFAULT_LEVELS), help="e.g. 0.9,0.95,0.99")
        parser.add_argument("--max-run-age-hours", type=int, default=DEFAULT_MAX_RUN_AGE_HOURS)
        parser.add_argument("--json", action="store_true", help="Print the stored backtest as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        end = options["end"] or timezone.now().date() - timedelta(days=1)
        start = options["start"] or end - timedelta(days=options["days"] - 1)
        try:
            levels = tuple(float(level) for level in options["levels"].split(","))
        except ValueError as error:
            raise CommandError(f"--levels: {error}") from error
        try:
            backtest = coverage_backtest_request(
                start=start,
                end=end,
                levels=levels,
                max_run_age_hours=options["max_run_age_hours"],
                requested_by="coverage_backtest",
                enqueue=False,
            )
        except ValidationError as error:
            raise CommandError(
                "; ".join(f"{field}: {' '.join(reasons)}" for field, reasons in error.message_dict.items())
            ) from error
        coverage_backtest_compute(backtest_id=backtest.pk)
        backtest.refresh_from_db()
        if options["json"]:
            self.stdout.write(json.dumps(_as_dict(backtest), indent=2))
            return
        self.stdout.write(
            f"Coverage backtest #{backtest.pk}, {start} – {end}: {len(backtest.windows)} windows, "
            f"{len(backtest.skipped)} days skipped."
        )
        for level in backtest.levels:
            self.stdout.write(
                f"  q{level['level']:.0%}: {level['exceedances']} of {level['observations']} exceeded "
                f"({level['exceedance_rate']:.1%} vs {level['expected_rate']:.1%}); "
                f"Kupiec LR {level['kupiec_lr']:.3f}, p {p_value(level['kupiec_p_value'])}; "
                f"independence p {p_value(level['independence_p_value'])}"
            )


def _as_dict(backtest: CoverageBacktest) -> dict[str, Any]:
    return {
        "id": backtest.pk,
        "start": backtest.start.isoformat(),
        "end": backtest.end.isoformat(),
        "status": backtest.status,
        "max_run_age_hours": backtest.max_run_age_hours,
        "quantile_levels": backtest.quantile_levels,
        "levels": backtest.levels,
        "windows": backtest.windows,
        "skipped": backtest.skipped,
    }
