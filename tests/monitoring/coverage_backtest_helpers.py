"""Hand-made baseline coverage runs and liquidations for the coverage backtest tests."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D

import numpy as np

from insurance.models import CoverageRun, InsuranceFund, RunPurpose, RunStatus
from insurance.services.coverage_files import arrays_write, run_directory
from riskgov.markets.models import Liquidation, LiquidationSource, Market, liquidation_notional


def baseline_run(
    fund: InsuranceFund, *, finished_at: datetime, bad_debt: np.ndarray, symbols=("ETH",), horizon_days="1"
) -> CoverageRun:
    """A succeeded baseline run whose results file holds `bad_debt` per path (all in the first market)."""
    run = CoverageRun.objects.create(
        label="hand-made",
        purpose=RunPurpose.BASELINE,
        status=RunStatus.SUCCEEDED,
        requested_by="test",
        fund=fund,
        fund_balance=D("1000"),
        paths=len(bad_debt),
        steps=4,
        horizon_days=D(horizon_days),
        impact_coefficient=D("0.01"),
        seed=1,
        chunk_size=len(bad_debt),
        engine_version="test",
        market_inputs={"markets": [{"symbol": symbol} for symbol in symbols]},
    )
    by_market = np.zeros((len(bad_debt), len(symbols)))
    by_market[:, 0] = bad_debt
    directory = run_directory(run.pk)
    run.results_file = f"{directory}/results.npz"
    run.results_sha256 = arrays_write(run.results_file, {"bad_debt_by_market": by_market})
    run.finished_at = finished_at
    run.save()
    return run


def liquidation(market: Market, *, at: datetime, bad_debt: str, external_id: str, source=LiquidationSource.IMPORT):
    size, price = D("-2"), D("100")
    return Liquidation.objects.create(
        source=source,
        external_id=external_id,
        market=market,
        liquidated_at=at,
        size=size,
        price=price,
        notional=liquidation_notional(size, price),
        penalty=D("0"),
        bad_debt=D(bad_debt),
    )
