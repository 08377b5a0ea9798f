"""`manage.py coverage_run`: start a coverage run (enqueued, or --inline in this process) and print its metrics."""

from __future__ import annotations

import argparse
import json
import math
import sys
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from insurance.models import CoverageRun, InsuranceFund, PriceModelKind, RunPurpose
from insurance.selectors.coverage import run_headline
from insurance.services.coverage_execution import coverage_run_execute_inline
from insurance.services.coverage_runs import coverage_run_create
from insurance.views.errors import error_fields

MODELS = ("gbm", "student_t", "merton", "bootstrap")


def model_choice(value: str) -> str:
    """A model name, or stress:<slug> for a scenario of the library (checked when the run is created)."""
    if value in MODELS or (value.startswith("stress:") and value != "stress:"):
        return value
    raise argparse.ArgumentTypeError(f"choose one of {', '.join(MODELS)} or stress:<scenario slug>, not {value!r}")


class Command(BaseCommand):
    help = "Start a coverage run under the current (or given) margin parameters and print its metrics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--label", default="Command-line coverage run")
        parser.add_argument("--paths", type=int, default=10_000)
        parser.add_argument("--steps", type=int, default=96)
        parser.add_argument("--horizon-days", type=Decimal, default=Decimal("4"))
        parser.add_argument(
            "--model", default="gbm", type=model_choice, help="Price model; stress:<slug> for a library scenario."
        )
        parser.add_argument("--model-params", default="{}", help='JSON object, e.g. {"degrees_of_freedom": 3}.')
        parser.add_argument("--impact", default="sqrt", choices=["sqrt", "linear", "none"])
        parser.add_argument("--impact-coefficient", type=Decimal, default=Decimal("0.01"))
        parser.add_argument("--cascade", action=argparse.BooleanOptionalAction, default=True)
        parser.add_argument("--delay", type=int, default=0, help="Liquidation delay in oracle steps.")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--fund", default=None, help="Insurance fund name or id (default: the oldest fund).")
        parser.add_argument("--fund-balance", type=Decimal, default=None, help="Override the ledger balance.")
        parser.add_argument("--overrides", default=None, help='Proposed changes as JSON {"ETH": {"mmr": "0.03"}}.')
        parser.add_argument("--chunk-size", type=int, default=None)
        parser.add_argument("--window-days", type=int, default=30, help="Volatility estimation window.")
        parser.add_argument(
            "--baseline", action="store_true", help="Start the new baseline (refused with any override)."
        )
        parser.add_argument("--inline", action="store_true", help="Simulate in this process with a progress bar.")
        parser.add_argument("--json", action="store_true", help="Print the metrics as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        model, params = options["model"], self._json(options["model_params"], "--model-params")
        if model.startswith("stress:"):
            model, params = PriceModelKind.STRESS, {**params, "scenario": model.split(":", 1)[1]}
        overrides = None
        if options["overrides"]:
            overrides = self._json(options["overrides"], "--overrides", parse_float=Decimal)
        try:
            run = coverage_run_create(
                label=options["label"],
                requested_by="command line",
                model=model,
                model_params=params,
                paths=options["paths"],
                steps=options["steps"],
                horizon_days=options["horizon_days"],
                impact=options["impact"],
                impact_coefficient=options["impact_coefficient"],
                cascade=options["cascade"],
                liquidation_delay_steps=options["delay"],
                seed=options["seed"],
                fund=self._fund(options["fund"]),
                fund_balance=options["fund_balance"],
                parameter_overrides=overrides,
                chunk_size=options["chunk_size"],
                volatility_window_days=options["window_days"],
                enqueue=not options["inline"],
                purpose=RunPurpose.BASELINE if options["baseline"] else None,
            )
        except ValidationError as error:
            problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error_fields(error).items())
            raise CommandError(problems) from None
        self.stdout.write(
            f"Run #{run.pk}: {run.chunk_count} chunks of {run.chunk_size} paths, "
            f"{run.position_count:,} positions, seed {run.seed}, purpose {run.get_purpose_display().lower()}"
        )
        if not options["inline"]:
            self.stdout.write("Enqueued; workers will simulate it. Follow it on the Insurance page.")
            return
        with tqdm(total=run.chunk_count, unit="chunk", desc=f"run #{run.pk}", file=sys.stderr) as bar:
            run = coverage_run_execute_inline(run=run, progress=bar.update)
        if run.status != "succeeded":
            raise CommandError(f"Run #{run.pk} {run.status}: {run.error}")
        summary = (run.metrics or {})["summary"]
        self.stdout.write(json.dumps(summary, indent=1) if options["json"] else self._table(run))

    def _json(self, text: str, option: str, **kwargs: Any) -> dict[str, Any]:
        try:
            value = json.loads(text, **kwargs)
        except json.JSONDecodeError as error:
            raise CommandError(f"{option} is not valid JSON: {error.msg}") from None
        if not isinstance(value, dict):
            raise CommandError(f"{option} must be a JSON object")
        return value

    def _fund(self, name: str | None) -> InsuranceFund | None:
        if name is None:
            return None
        fund = InsuranceFund.objects.filter(pk=int(name)).first() if name.isdigit() else None
        fund = fund or InsuranceFund.objects.filter(name=name).first()
        if fund is None:
            raise CommandError(f"No insurance fund named {name!r}")
        return fund

    def _table(self, run: CoverageRun) -> str:
        headline = run_headline(run)
        if headline is None:
            raise CommandError(f"Run #{run.pk} {run.status} but has no metrics")

        def money(value: float | None) -> str:
            return "inf" if value is None or math.isinf(value) else f"{value:,.0f}"

        def ratio(value: float | None) -> str:
            return "inf" if value is None else f"{value:,.2f}"

        rows = [
            (
                "P(fund exhausted)",
                f"{headline.exhaustion_probability.value:.4%}",
                f"{headline.exhaustion_probability.low:.4%} – {headline.exhaustion_probability.high:.4%}",
            ),
            ("ES99 bad debt", money(headline.es99.value), f"{money(headline.es99.low)} – {money(headline.es99.high)}"),
            (
                "VaR99 bad debt",
                money(headline.var99.value),
                f"{money(headline.var99.low)} – {money(headline.var99.high)}",
            ),
            (
                "Coverage ratio",
                ratio(headline.coverage_ratio.value),
                f"{ratio(headline.coverage_ratio.low)} – {ratio(headline.coverage_ratio.high)}",
            ),
            (
                f"Fund for P ≤ {headline.target_exhaustion_probability:.2%}",
                money(headline.required_fund.value),
                f"{money(headline.required_fund.low)} – {money(headline.required_fund.high)}",
            ),
            (
                "Mean bad debt",
                money(headline.mean_bad_debt.value),
                f"{money(headline.mean_bad_debt.low)} – {money(headline.mean_bad_debt.high)}",
            ),
            ("Fund balance", money(headline.fund_balance), ""),
        ]
        lines = [f"{'metric':<28}{'value':>16}   {headline.confidence:.0%} interval"]
        lines += [f"{name:<28}{value:>16}   {interval}" for name, value, interval in rows]
        return "\n".join(lines)
