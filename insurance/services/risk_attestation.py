"""Risk-budget attestations: one paired coverage run per parameter change, held to the market's budget.

The pair simulates the change against the parameters in force on common random numbers (same seed, paths,
steps, horizon and frozen book). The verdict uses the paired intervals of `insurance.engine.paired` at the
budget's confidence: within budget when the upper bound of ΔP(fund exhausted) is ≤ ε and the upper bound of
ΔES99 (bad debt, quote units) is ≤ x; Δ is proposed minus current. A run that fails, is cancelled, or cannot
be paired fails the attestation: guardrails fail closed.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from insurance.engine import PairedDeltas
from insurance.models import AttestationStatus, CoverageRun, RiskAttestation, RunPurpose, RunStatus
from insurance.selectors.compare import pairing_warnings, run_paired_deltas
from insurance.services.coverage_files import CoverageFileError
from insurance.services.coverage_pairs import coverage_pair_create, coverage_pair_refusal
from riskgov.core.services.audit import decimal_text
from riskgov.markets.models import ParameterChangeRequest, RiskBudget

RATE_QUANTUM = Decimal("0.00000001")
AMOUNT_QUANTUM = Decimal("0.000001")


def attestation_seed(change_request_id: int) -> int:
    """A fixed seed per change request: the attestation is reproducible from its request alone."""
    digest = hashlib.sha256(f"risk-budget:{change_request_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def risk_attestation_start(*, change_request: ParameterChangeRequest, budget: RiskBudget) -> RiskAttestation:
    """Create the attestation of `change_request` and its paired runs once (later calls return it).

    A pair that cannot start (no fund, no mark price…) gives a failed attestation naming the field, never an
    exception. The caller holds the request's row lock.
    """
    existing = RiskAttestation.objects.filter(change_request=change_request).first()
    if existing is not None:
        return existing
    symbol = change_request.market.symbol
    overrides = {symbol: {f: Decimal(v) for f, v in change_request.changes.items() if v is not None}}
    with transaction.atomic():
        attestation = RiskAttestation.objects.create(
            change_request=change_request,
            max_exhaustion_increase=budget.max_exhaustion_increase,
            max_es99_increase=budget.max_es99_increase,
            confidence=budget.confidence,
            paths=budget.paths,
            seed=attestation_seed(change_request.pk),
        )
        try:
            with transaction.atomic():
                current, proposed = coverage_pair_create(
                    label=f"Risk budget of change request #{change_request.pk} ({symbol})",
                    requested_by=f"risk-budget:{change_request.pk}",
                    overrides=overrides,
                    purpose=RunPurpose.WHAT_IF,
                    seed=attestation.seed,
                    at=timezone.now(),
                    paths=budget.paths,
                    shape={"steps": budget.steps, "horizon_days": budget.horizon_days},
                )
        except ValidationError as error:
            attestation.status = AttestationStatus.FAILED
            attestation.reason = f"The paired run could not start: {coverage_pair_refusal(error)}"
            attestation.completed_at = timezone.now()
            attestation.save(update_fields=["status", "reason", "completed_at"])
        else:
            attestation.coverage_current, attestation.coverage_proposed = current, proposed
            attestation.save(update_fields=["coverage_current", "coverage_proposed"])
    return attestation


def risk_attestation_progress(attestation: RiskAttestation) -> float:
    """Share of both runs' chunks done (0…1); 1 once the attestation is decided."""
    if attestation.status != AttestationStatus.RUNNING:
        return 1.0
    runs = [r for r in (attestation.coverage_current, attestation.coverage_proposed) if r is not None]
    total = sum(r.chunk_count for r in runs)
    return sum(r.chunks_done for r in runs) / total if total else 0.0


def _inputs_sha256(attestation: RiskAttestation, a: CoverageRun, b: CoverageRun) -> str:
    judged = {
        "current": [a.pk, a.inputs_sha256, a.book_sha256],
        "proposed": [b.pk, b.inputs_sha256, b.book_sha256],
        "seed": attestation.seed,
        "paths": attestation.paths,
        "confidence": decimal_text(attestation.confidence),
        "max_exhaustion_increase": decimal_text(attestation.max_exhaustion_increase),
        "max_es99_increase": decimal_text(attestation.max_es99_increase),
    }
    return hashlib.sha256(json.dumps(judged, sort_keys=True).encode()).hexdigest()


def _fail(attestation: RiskAttestation, reason: str) -> RiskAttestation:
    attestation.status = AttestationStatus.FAILED
    attestation.reason = reason
    attestation.completed_at = timezone.now()
    attestation.save(update_fields=["status", "reason", "completed_at", "inputs_sha256"])
    return attestation


def _paired_deltas(attestation: RiskAttestation, a: CoverageRun, b: CoverageRun) -> PairedDeltas | str:
    """The paired deltas of two finished runs at the attestation's confidence, or why there are none."""
    for run in (a, b):
        if run.status != RunStatus.SUCCEEDED:
            why = f": {run.error}" if run.error else ""
            return f"Coverage run #{run.pk} of the pair is {run.status}{why}"
    warnings = pairing_warnings(a, b)
    if warnings:
        return "The runs are not paired: " + " ".join(warnings)
    try:
        return run_paired_deltas(a, b, confidence=float(attestation.confidence))
    except (CoverageFileError, ValueError) as error:
        return f"The paired deltas could not be computed: {error}"


def risk_attestation_evaluate(*, attestation: RiskAttestation) -> RiskAttestation:
    """Decide a running attestation whose runs have both finished; leave it running while either is active."""
    if attestation.status != AttestationStatus.RUNNING:
        return attestation
    if attestation.coverage_current_id is None or attestation.coverage_proposed_id is None:
        return _fail(attestation, "The paired runs were never created")
    a = CoverageRun.objects.get(pk=attestation.coverage_current_id)
    b = CoverageRun.objects.get(pk=attestation.coverage_proposed_id)
    if a.is_active or b.is_active:
        return attestation
    attestation.inputs_sha256 = _inputs_sha256(attestation, a, b)
    deltas = _paired_deltas(attestation, a, b)
    if isinstance(deltas, str):
        return _fail(attestation, deltas)
    exhaustion, es99 = deltas.exhaustion_probability, deltas.es99
    epsilon, x = attestation.max_exhaustion_increase, attestation.max_es99_increase
    level = f"{float(attestation.confidence):.0%}"
    breaches = []
    if Decimal(repr(exhaustion.high)) > epsilon:
        breaches.append(
            f"ΔP(fund exhausted) {exhaustion.value:+.4%} has a {level} upper bound of {exhaustion.high:+.4%}, "
            f"above the budget of {float(epsilon):.4%}"
        )
    if Decimal(repr(es99.high)) > x:
        breaches.append(
            f"ΔES99 {es99.value:+,.2f} has a {level} upper bound of {es99.high:+,.2f}, above the budget of "
            f"{float(x):,.2f}"
        )
    attestation.status = AttestationStatus.OVER_BUDGET if breaches else AttestationStatus.WITHIN_BUDGET
    attestation.reason = (
        "; ".join(breaches)
        if breaches
        else f"Within budget on {deltas.paths} paired paths: ΔP(fund exhausted) ≤ {exhaustion.high:+.4%} "
        f"(budget {float(epsilon):.4%}) and ΔES99 ≤ {es99.high:+,.2f} (budget {float(x):,.2f}) at {level}"
    )
    attestation.exhaustion_delta = Decimal(repr(exhaustion.value)).quantize(RATE_QUANTUM)
    attestation.exhaustion_upper = Decimal(repr(exhaustion.high)).quantize(RATE_QUANTUM)
    attestation.es99_delta = Decimal(repr(es99.value)).quantize(AMOUNT_QUANTUM)
    attestation.es99_upper = Decimal(repr(es99.high)).quantize(AMOUNT_QUANTUM)
    attestation.completed_at = timezone.now()
    attestation.save()
    return attestation


def attestation_record(attestation: RiskAttestation) -> dict[str, Any]:
    """What a change stores of its attestation: run ids, inputs hash, budget, result and when (JSON)."""
    return {
        "id": attestation.pk,
        "status": attestation.status,
        "within_budget": attestation.status == AttestationStatus.WITHIN_BUDGET,
        "runs": {"current": attestation.coverage_current_id, "proposed": attestation.coverage_proposed_id},
        "inputs_sha256": attestation.inputs_sha256,
        "paths": attestation.paths,
        "seed": attestation.seed,
        "confidence": decimal_text(attestation.confidence),
        "budget": {
            "max_exhaustion_increase": decimal_text(attestation.max_exhaustion_increase),
            "max_es99_increase": decimal_text(attestation.max_es99_increase),
        },
        "result": {
            "exhaustion_delta": decimal_text(attestation.exhaustion_delta),
            "exhaustion_upper": decimal_text(attestation.exhaustion_upper),
            "es99_delta": decimal_text(attestation.es99_delta),
            "es99_upper": decimal_text(attestation.es99_upper),
        },
        "reason": attestation.reason,
        "at": attestation.completed_at.isoformat() if attestation.completed_at else None,
    }
