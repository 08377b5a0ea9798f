"""Command line: ``python -m insurance.engine --positions book.csv --markets markets.json --fund 25e6``.

positions CSV columns: market (symbol from the markets file), size (signed, base units),
entry_price (quote per base), collateral (quote). markets JSON: a list of MarketSpec objects
({"symbol", "price", "mmr", "liquidation_penalty", "volatility", "depth"}) or
{"markets": [...], "correlation": [[...]]}. Prints the coverage metrics; --output writes per-path
results as CSV and --json the metrics as JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from . import (
    ENGINE_VERSION,
    GBM,
    NAMED_SCENARIOS,
    CoverageMetrics,
    MarketSpec,
    MertonJump,
    Portfolio,
    SimulationConfig,
    StressScenario,
    StudentT,
    simulate,
    summarize,
)
from .models import PriceModel


def read_markets(path: Path) -> tuple[list[MarketSpec], list[list[float]] | None]:
    """Market specs and the optional correlation matrix from a JSON file."""
    payload = json.loads(path.read_text())
    entries = payload["markets"] if isinstance(payload, dict) else payload
    correlation = payload.get("correlation") if isinstance(payload, dict) else None
    return [MarketSpec(**entry) for entry in entries], correlation


def read_positions(path: Path, markets: Sequence[MarketSpec]) -> Portfolio:
    """A Portfolio from a CSV with columns market, size, entry_price, collateral."""
    index = {market.symbol: i for i, market in enumerate(markets)}
    columns: dict[str, list[float]] = {"market": [], "size": [], "entry_price": [], "collateral": []}
    with path.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if row["market"] not in index:
                raise ValueError(f"{path}:{line}: market {row['market']!r} is not in the markets file")
            columns["market"].append(index[row["market"]])
            for name in ("size", "entry_price", "collateral"):
                columns[name].append(float(row[name]))
    return Portfolio(**columns)


def build_model(args: argparse.Namespace, correlation: list[list[float]] | None) -> PriceModel:
    """The price model named on the command line."""
    if args.model == "gbm":
        return GBM(correlation=correlation, drift=args.drift)
    if args.model == "student-t":
        return StudentT(correlation=correlation, drift=args.drift, degrees_of_freedom=args.dof)
    if args.model == "merton":
        return MertonJump(
            correlation=correlation,
            drift=args.drift,
            jump_intensity=args.jump_intensity,
            jump_mean=args.jump_mean,
            jump_std=args.jump_std,
        )
    base = GBM(correlation=correlation, drift=args.drift) if args.stress_noise else None
    return StressScenario.named(args.scenario, base=base)


def format_metrics(metrics: CoverageMetrics) -> str:
    """Human-readable metrics table; money in quote units."""

    def money(value: float) -> str:
        return "inf" if math.isinf(value) else f"{value:,.0f}"

    confidence = f"{metrics.confidence:.0%} CI"
    p = metrics.exhaustion_probability
    lines = [
        f"paths                       {metrics.paths:,}",
        f"fund balance                {money(metrics.fund_balance)}",
        f"P(fund exhausted)           {p.value:.4%}   [{p.low:.4%}, {p.high:.4%}] {confidence}",
        f"mean bad debt               {money(metrics.mean_bad_debt.value)}",
        f"mean penalty income         {money(metrics.mean_penalty_income.value)}",
    ]
    for tail in metrics.tail:
        var, es = tail.value_at_risk, tail.expected_shortfall
        lines.append(f"VaR {tail.level:.1%}  bad debt      {money(var.value)}   [{money(var.low)}, {money(var.high)}]")
        lines.append(f"ES  {tail.level:.1%}  bad debt      {money(es.value)}   [{money(es.low)}, {money(es.high)}]")
    ratio, required = metrics.coverage_ratio, metrics.required_fund
    lines.append(f"coverage ratio (fund/ES99)  {ratio.value:.3f}   [{ratio.low:.3f}, {ratio.high:.3f}]")
    lines.append(
        f"fund for P(exhaustion) <= {metrics.target_exhaustion_probability:.2%}   "
        f"{money(required.value)}   [{money(required.low)}, {money(required.high)}]"
    )
    return "\n".join(lines)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m insurance.engine",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--positions", type=Path, required=True, help="positions CSV")
    parser.add_argument("--markets", type=Path, required=True, help="markets JSON")
    parser.add_argument("--fund", type=float, required=True, help="insurance fund at the start (quote units)")
    parser.add_argument("--model", choices=["gbm", "student-t", "merton", "stress"], default="gbm")
    parser.add_argument(
        "--scenario",
        choices=sorted(NAMED_SCENARIOS),
        default="march_2020",
        help="named stress scenario (with --model stress)",
    )
    parser.add_argument("--stress-noise", action="store_true", help="overlay the stress scenario on GBM paths")
    parser.add_argument("--drift", type=float, default=0.0, help="annualised drift (fraction)")
    parser.add_argument("--dof", type=float, default=4.0, help="Student-t degrees of freedom")
    parser.add_argument("--jump-intensity", type=float, default=5.0, help="Merton jumps per year")
    parser.add_argument("--jump-mean", type=float, default=-0.05, help="mean log jump size")
    parser.add_argument("--jump-std", type=float, default=0.05, help="std of the log jump size")
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("--horizon-days", type=float, default=4.0)
    parser.add_argument("--impact", choices=["none", "linear", "sqrt"], default="sqrt")
    parser.add_argument("--impact-coefficient", type=float, default=1.0)
    parser.add_argument("--cascade", action="store_true")
    parser.add_argument("--delay", type=int, default=0, help="liquidation delay in oracle steps")
    parser.add_argument("--chunk-size", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: fresh, printed)")
    parser.add_argument("--target", type=float, default=0.01, help="target P(exhaustion) for the required fund")
    parser.add_argument("--output", type=Path, help="write per-path results to this CSV")
    parser.add_argument("--json", type=Path, help="write the metrics to this JSON file")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        markets, correlation = read_markets(args.markets)
        portfolio = read_positions(args.positions, markets)
        model = build_model(args, correlation)
        config = SimulationConfig(
            paths=args.paths,
            steps=args.steps,
            horizon_days=args.horizon_days,
            impact=args.impact,
            impact_coefficient=args.impact_coefficient,
            cascade=args.cascade,
            liquidation_delay_steps=args.delay,
            chunk_size=args.chunk_size,
        )
        with tqdm(total=config.paths, unit="path", disable=args.no_progress, file=sys.stderr) as bar:
            result = simulate(
                portfolio, markets, model, config, fund_balance=args.fund, seed=args.seed, progress=bar.update
            )
        metrics = summarize(result, target_exhaustion_probability=args.target)
    except (ValueError, KeyError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"engine {ENGINE_VERSION}, seed {result.seed}, {len(portfolio):,} positions, {len(markets)} markets")
    print(format_metrics(metrics))
    if args.json:
        args.json.write_text(json.dumps(_json_safe(metrics.to_dict()), indent=2))
    if args.output:
        columns = result.per_path()
        with args.output.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(list(columns))
            for row in zip(*(np.asarray(column).tolist() for column in columns.values()), strict=True):
                writer.writerow(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
