"""Turn a merged simulation result into the metrics JSON a run stores: headline figures with
confidence intervals, and the data behind the run page's charts and tables."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from insurance.engine import AdlOutcome, SimulationResult, summarize
from insurance.engine.adl import HAIRCUT_EDGES

FUND_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 40
EXCEEDANCE_POINTS = 160
WORST_PATHS = 20
MAX_BAND_POINTS = 200
ADL_QUANTILES = (0.5, 0.9, 0.99)


def json_safe(value: Any) -> Any:
    """Nested data with NumPy scalars as Python numbers and ±inf/NaN as None (JSON has neither)."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return _json_scalar(value)


def _json_scalar(value: Any) -> Any:
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def coverage_metrics(result: SimulationResult, *, target_exhaustion_probability: float) -> dict[str, Any]:
    """Metrics of a whole run (quote units, probabilities as fractions), JSON-ready."""
    summary = summarize(result, target_exhaustion_probability=target_exhaustion_probability)
    losses = result.bad_debt
    metrics: dict[str, Any] = {
        "summary": summary.to_dict(),
        "histogram": _histogram(losses),
        "exceedance": _exceedance(losses),
        "markets": _market_contributions(result, losses),
        "worst_paths": _worst_paths(result, losses),
    }
    if result.adl is not None:
        metrics["adl"] = _adl(result.adl)
    if result.fund_path is not None:
        quantiles = result.fund_path_quantiles(FUND_QUANTILES)
        stride = max(1, math.ceil(quantiles.shape[1] / MAX_BAND_POINTS))
        steps = np.arange(quantiles.shape[1])
        keep = np.unique(np.append(steps[::stride], steps[-1]))
        metrics["fund_quantiles"] = {
            "quantiles": list(FUND_QUANTILES),
            "hours": (keep * result.config.step_hours).tolist(),
            "values": quantiles[:, keep].tolist(),
        }
    return json_safe(metrics)


def _histogram(losses: np.ndarray) -> dict[str, Any]:
    """Distribution of per-path bad debt among paths with any; paths without are counted apart."""
    positive = losses[losses > 0]
    zero_paths = int(len(losses) - len(positive))
    if not len(positive):
        return {"edges": [], "counts": [], "zero_paths": zero_paths}
    counts, edges = np.histogram(positive, bins=HISTOGRAM_BINS)
    return {"edges": edges.tolist(), "counts": counts.tolist(), "zero_paths": zero_paths}


def _exceedance(losses: np.ndarray) -> dict[str, Any]:
    """P(bad debt > x) at log-spaced tail probabilities, down to one path in n."""
    n = len(losses)
    ordered = np.sort(losses)
    ranks = np.unique(np.round(np.logspace(0, math.log10(n), EXCEEDANCE_POINTS)).astype(np.int64))
    thresholds = ordered[np.clip(n - ranks, 0, n - 1)]
    thresholds = np.unique(np.concatenate([[0.0], thresholds]))
    exceed = n - np.searchsorted(ordered, thresholds, side="right")
    keep = exceed > 0
    return {"x": thresholds[keep].tolist(), "p": (exceed[keep] / n).tolist(), "paths": n}


def _market_contributions(result: SimulationResult, losses: np.ndarray) -> list[dict[str, Any]]:
    """Mean bad debt and penalties per market, and each market's share of the 1 % worst paths' bad debt."""
    n = len(losses)
    tail_count = max(1, math.ceil(n * 0.01))
    tail = np.argsort(losses, kind="stable")[n - tail_count :]
    tail_total = float(result.bad_debt_by_market[tail].sum())
    rows = []
    for index, symbol in enumerate(result.symbols):
        tail_mean = float(result.bad_debt_by_market[tail, index].mean())
        rows.append(
            {
                "symbol": symbol,
                "mean_bad_debt": float(result.bad_debt_by_market[:, index].mean()),
                "mean_penalty_income": float(result.penalty_by_market[:, index].mean()),
                "tail_bad_debt": tail_mean,
                "tail_share": float(result.bad_debt_by_market[tail, index].sum()) / tail_total
                if tail_total > 0
                else 0.0,
                "paths_with_bad_debt": int((result.bad_debt_by_market[:, index] > 0).sum()),
            }
        )
    return rows


def _worst_paths(result: SimulationResult, losses: np.ndarray) -> list[dict[str, Any]]:
    order = np.argsort(-losses, kind="stable")[:WORST_PATHS]
    return [
        {
            "path": int(result.path_start + i),
            "bad_debt": float(losses[i]),
            "penalty_income": float(result.penalty_income[i]),
            "uncovered_loss": float(result.uncovered_loss[i]),
            "fund_end": float(result.fund_end[i]),
            "required_fund": float(result.required_fund[i]),
            "liquidated_notional": float(result.liquidated_notional[i]),
            "liquidated_positions": int(result.liquidated_positions[i]),
            "by_market": {symbol: float(result.bad_debt_by_market[i, m]) for m, symbol in enumerate(result.symbols)},
        }
        for i in order
    ]


def _quantiles(values: np.ndarray) -> dict[str, float]:
    """Mean, p50/p90/p99 and max of `values` (empty: zeros)."""
    if not len(values):
        return {"mean": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
    points = np.quantile(values, ADL_QUANTILES)
    return {
        "mean": float(values.mean()),
        **{f"p{round(q * 100)}": float(v) for q, v in zip(ADL_QUANTILES, points, strict=True)},
        "max": float(values.max()),
    }


def _histogram_quantile(counts: np.ndarray, q: float) -> dict[str, float | None]:
    """The haircut bin holding the q-quantile of the pooled per-account haircuts: its [low, high) edges (quote)."""
    cumulative = np.cumsum(counts)
    index = int(np.searchsorted(cumulative, q * cumulative[-1], side="left"))
    edges = np.concatenate([[0.0], HAIRCUT_EDGES, [np.inf]])
    return {"low": float(edges[index]), "high": float(edges[index + 1])}


def _adl(adl: AdlOutcome) -> dict[str, Any]:
    """Auto-deleveraging figures: how often, how much notional, how many accounts, their haircuts, the excess.

    Path figures (notional, accounts, haircut, over-haircut) are over the paths where ADL happened; the
    per-account haircut distribution pools every hit account of every path (bins of HAIRCUT_EDGES).
    """
    hit = adl.accounts > 0
    n = len(adl.accounts)
    pooled = adl.haircut_histogram.sum(axis=0)
    accounts = int(pooled.sum())
    total_haircut = float(adl.haircut.sum())
    notional = adl.notional[hit]
    figures: dict[str, Any] = {
        "paths": n,
        "paths_with_adl": int(hit.sum()),
        "probability": float(hit.mean()) if n else 0.0,
        "notional": _quantiles(notional),
        "accounts": _quantiles(adl.accounts[hit].astype(np.float64)),
        "haircut": _quantiles(adl.haircut[hit]),
        "over_haircut": _quantiles(adl.over_haircut[hit]),
        "over_haircut_share": float(adl.over_haircut.sum()) / total_haircut if total_haircut > 0 else 0.0,
        "haircut_per_account": {
            "accounts": accounts,
            "quantiles": {f"p{round(q * 100)}": _histogram_quantile(pooled, q) for q in ADL_QUANTILES}
            if accounts
            else {},
            "max": float(adl.haircut_max.max()) if n else 0.0,
            "edges": HAIRCUT_EDGES.tolist(),
            "counts": pooled.tolist(),
        },
        "notional_histogram": _histogram(adl.notional),
    }
    return figures
