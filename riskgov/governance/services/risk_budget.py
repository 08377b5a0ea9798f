"""Risk-budget guardrails on the workers: a change of a market with a budget is decided by its paired run.

Every source waits the same way. `markets.services.risk_budget.parameter_change_request` checks the static
rules inside the request and sends `riskgov.risk_budget_attest`; this module's `parameter_change_attest` is one
step of that task: start the attestation (paired runs, once), record progress, and once both runs are done
decide: within the budget an admin or policy change is applied at once (`margin_parameters_change` checks the
attestation again under the market lock), a proposal's change is marked attested and its execution sent;
otherwise the change is refused with the reason. Automation never applies against its own evidence: a failed,
over-budget or expired attestation refuses, and nothing is retried automatically.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from insurance.models import AttestationStatus
from insurance.services.risk_attestation import (
    attestation_record,
    risk_attestation_evaluate,
    risk_attestation_progress,
    risk_attestation_start,
)
from riskgov.core import dispatch
from riskgov.core.models import AuditAction
from riskgov.core.models.versions import ChangeSource
from riskgov.core.services.audit import audit_record
from riskgov.governance.models import Proposal, ProposalChangeRequest
from riskgov.markets.models import ChangeRequestStatus, MarginParameters, Market, ParameterChangeRequest
from riskgov.markets.services.guardrails import GuardrailError
from riskgov.markets.services.parameters import margin_parameters_change
from riskgov.markets.services.risk_budget import (
    ATTEST_TASK,
    normalised_changes,
    parameter_change_request,
    parameter_change_request_refuse,
    risk_budget_for,
    risk_budget_violations,
)

EXECUTE_TASK = "riskgov.governance_execute"
POLL_SECONDS = 2.0
# An attestation whose runs have not finished by then is refused (the sweeper has had time to resend chunks).
ATTESTATION_TIMEOUT = timedelta(minutes=30)
# The tick sends a waiting request again when no step has polled it for this long (a lost task message).
POLL_STALE_AFTER = timedelta(minutes=2)


def parameter_change_attest(*, request_id: int, now: datetime | None = None) -> ParameterChangeRequest:
    """One worker step of a change awaiting attestation (safe to run twice; a decided request is returned)."""
    now = now or timezone.now()
    with transaction.atomic():
        request = (
            ParameterChangeRequest.objects.select_for_update(of=("self",))
            .select_related("market", "base_version")
            .get(pk=request_id)
        )
        if request.status != ChangeRequestStatus.AWAITING_ATTESTATION:
            return request
        budget = risk_budget_for(request.market)
        current = MarginParameters.objects.filter(market=request.market).order_by("-version").first()
        if budget is None:
            refusal = f"{request.market.symbol} has no enabled risk budget any more; request the change again"
        elif current is None or current.pk != request.base_version_id:
            refusal = (
                f"the parameters of {request.market.symbol} changed while the change waited "
                f"(requested against v{request.base_version.version}); request it again"
            )
        else:
            refusal = ""
        if budget is None or refusal:
            parameter_change_request_refuse(request_id=request_id, reason=refusal)
            return ParameterChangeRequest.objects.get(pk=request_id)
        attestation = risk_attestation_evaluate(
            attestation=risk_attestation_start(change_request=request, budget=budget)
        )
        request.progress = risk_attestation_progress(attestation)
        request.polled_at = now
        if attestation.status == AttestationStatus.RUNNING:
            request.save(update_fields=["progress", "polled_at"])
            if now - request.created_at > ATTESTATION_TIMEOUT:
                reason = f"the paired runs did not finish within {ATTESTATION_TIMEOUT.total_seconds() / 60:.0f} min"
                parameter_change_request_refuse(request_id=request_id, reason=reason)
            return ParameterChangeRequest.objects.get(pk=request_id)
        request.attestation = attestation_record(attestation)
        if attestation.status != AttestationStatus.WITHIN_BUDGET:
            request.save(update_fields=["progress", "polled_at", "attestation"])
            what = "over its risk budget" if attestation.status == AttestationStatus.OVER_BUDGET else "not attested"
            reason = f"{what}: {attestation.reason}"
            parameter_change_request_refuse(request_id=request_id, reason=reason, attestation=request.attestation)
            return ParameterChangeRequest.objects.get(pk=request_id)
        request.status = ChangeRequestStatus.ATTESTED
        request.attested_at = attestation.completed_at
        request.save(update_fields=["progress", "polled_at", "attestation", "status", "attested_at"])
        audit_record(
            action=AuditAction.PARAMETER_CHANGE_ATTESTED,
            subject=request,
            actor="risk-budget",
            data={"market": request.market.symbol, "source": request.source, "attestation": request.attestation},
        )
        if request.source == ChangeSource.PROPOSAL:
            dispatch.send_on_commit(EXECUTE_TASK, proposal_id=int(request.proposal_ref))
            return request
    return _apply(request)


def _apply(request: ParameterChangeRequest) -> ParameterChangeRequest:
    """Write an attested admin or policy change; a rule it breaks now (delay, expiry) refuses it."""
    try:
        margin_parameters_change(
            market=request.market,
            changes=normalised_changes(request.changes),
            source=request.source,
            reason=request.reason,
            actor=request.actor,
            proposal_ref=request.proposal_ref,
            change_request=request,
        )
    except GuardrailError as error:
        parameter_change_request_refuse(request_id=request.pk, reason=f"refused when applying: {error}")
    return ParameterChangeRequest.objects.get(pk=request.pk)


def parameter_changes_resend(*, now: datetime | None = None) -> list[int]:
    """Send the attestation step again for waiting requests no step has polled recently (lost messages)."""
    now = now or timezone.now()
    stale = list(
        ParameterChangeRequest.objects.filter(
            status=ChangeRequestStatus.AWAITING_ATTESTATION, created_at__lt=now - POLL_STALE_AFTER
        )
        .exclude(polled_at__gte=now - POLL_STALE_AFTER)
        .values_list("pk", flat=True)
    )
    for request_id in stale:
        dispatch.send_on_commit(ATTEST_TASK, request_id=request_id)
    return stale


def proposal_risk_budget_gate(
    *, proposal: Proposal, market: Market, changes: Mapping[str, Decimal | None], now: datetime
) -> tuple[ParameterChangeRequest | None, str]:
    """Whether a proposal's change of `market` may be written now: (attested request, "") when it may,
    (None, "") when the market has no budget, (None, why) while it waits or after it was refused.

    The first call starts the attestation. One refused on its evidence (over budget, failed) stays refused for
    the same base version; an attested one that expired or whose base version changed is requested again.
    """
    budget = risk_budget_for(market)
    if budget is None:
        return None, ""
    current = MarginParameters.objects.filter(market=market).order_by("-version").first()
    if current is None:
        return None, f"{market.symbol}: has no parameters"
    proposed = current.values() | normalised_changes(changes)
    latest = (
        ParameterChangeRequest.objects.filter(proposal_link__proposal=proposal, market=market)
        .select_related("base_version")
        .order_by("-pk")
        .first()
    )
    if latest is not None and latest.status == ChangeRequestStatus.ATTESTED:
        violations = risk_budget_violations(
            market=market, current=current, proposed=proposed, source=ChangeSource.PROPOSAL,
            change_request=latest, now=now,
        )  # fmt: skip
        if not violations:
            return latest, ""
        parameter_change_request_refuse(request_id=latest.pk, reason="; ".join(str(v) for v in violations))
        latest = None
    if latest is not None and latest.status == ChangeRequestStatus.AWAITING_ATTESTATION:
        return None, f"{market.symbol}: waiting for its risk-budget attestation (change request #{latest.pk}, " \
            f"{latest.progress:.0%} of the paired runs done)"  # fmt: skip
    evidence_refused = (
        latest is not None
        and latest.status == ChangeRequestStatus.REFUSED
        and latest.base_version_id == current.pk
        and latest.attestation.get("within_budget") is False
    )
    if latest is not None and evidence_refused:
        return None, f"{market.symbol}: refused by its risk budget (change request #{latest.pk}): {latest.refusal}"
    with transaction.atomic():
        request = parameter_change_request(
            market=market,
            changes=changes,
            source=ChangeSource.PROPOSAL,
            reason=f"Governance proposal #{proposal.pk}: {proposal.title}",
            actor=f"proposal:{proposal.pk}",
            proposal_ref=str(proposal.pk),
        )
        ProposalChangeRequest.objects.create(proposal=proposal, change_request=request)
    return None, f"{market.symbol}: risk-budget attestation started (change request #{request.pk})"
