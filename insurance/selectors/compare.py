"""Paired comparison of two coverage runs: what differs in their inputs, and the paired deltas B − A.

The deltas are only meaningful on common random numbers: the same seed, paths, steps and horizon, and the
same book (positions and mark prices, `book_sha256`). Every difference is listed as a warning; the deltas are
computed whenever the per-path results can be paired (same path count), from the merged results files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.core.cache import cache

from insurance.engine import PairedDeltas, PairedSample, paired_deltas
from insurance.models import CoverageRun, RunStatus
from insurance.services.coverage_files import CoverageFileError, arrays_read

DELTAS_CACHE_SECONDS = 24 * 3600  # results files never change once written (their sha256 is in the key)


@dataclass(frozen=True)
class RunComparison:
    a: CoverageRun
    b: CoverageRun
    warnings: list[str]
    deltas: PairedDeltas | None
    error: str  # why there are no deltas, or ""

    @property
    def paired(self) -> bool:
        """Both runs share seed, paths, steps, horizon and book: the deltas use common random numbers."""
        return not self.warnings


def pairing_warnings(a: CoverageRun, b: CoverageRun) -> list[str]:
    """Each input in which the two runs differ although a paired comparison needs it equal."""
    warnings = []
    for field, name in (("paths", "paths"), ("seed", "seed"), ("steps", "oracle steps"), ("horizon_days", "horizon")):
        left, right = getattr(a, field), getattr(b, field)
        if left != right:
            warnings.append(f"The runs differ in {name} (#{a.pk}: {left}, #{b.pk}: {right}).")
    if not a.book_sha256 or not b.book_sha256:
        warnings.append("The book of one run was not recorded; the positions may differ.")
    elif a.book_sha256 != b.book_sha256:
        warnings.append(
            f"The runs simulate different books (positions or mark prices; sha256 {a.book_sha256[:12]}… "
            f"vs {b.book_sha256[:12]}…)."
        )
    return warnings


def _sample(run: CoverageRun) -> PairedSample:
    arrays = arrays_read(run.results_file, run.results_sha256, what="results")
    return PairedSample(
        bad_debt=arrays["bad_debt_by_market"].sum(axis=1),
        exhausted=np.asarray(arrays["exhausted"], dtype=bool),
        liquidated_notional=np.asarray(arrays["liquidated_notional"], dtype=np.float64),
        fund_balance=float(run.fund_balance),
    )


def run_paired_deltas(a: CoverageRun, b: CoverageRun, *, confidence: float = 0.95) -> PairedDeltas:
    """Paired deltas B − A of two succeeded runs at `confidence` (cached by their results' sha256).

    Raises CoverageFileError when a results file is missing or altered, ValueError when the paths differ.
    """
    key = f"insurance:paired:{a.results_sha256}:{b.results_sha256}:{a.fund_balance}:{b.fund_balance}:{confidence}"
    found = cache.get(key)
    if isinstance(found, PairedDeltas):
        return found
    deltas = paired_deltas(_sample(a), _sample(b), confidence=confidence)
    cache.set(key, deltas, DELTAS_CACHE_SECONDS)
    return deltas


def run_compare_pair(a: CoverageRun, b: CoverageRun) -> RunComparison:
    """Warnings and paired deltas of run B against run A (A the reference, e.g. current parameters)."""
    warnings = pairing_warnings(a, b)
    if a.status != RunStatus.SUCCEEDED or b.status != RunStatus.SUCCEEDED:
        return RunComparison(a, b, warnings, None, "Both runs must have succeeded.")
    if a.paths != b.paths:
        return RunComparison(a, b, warnings, None, "Runs with different path counts cannot be paired.")
    try:
        deltas = run_paired_deltas(a, b)
    except (CoverageFileError, ValueError) as error:
        return RunComparison(a, b, warnings, None, str(error))
    return RunComparison(a, b, warnings, deltas, "")
