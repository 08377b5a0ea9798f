"""The risk-budget rule: a change of a market with a budget waits for a paired-run attestation.

A request is checked against every static guardrail at once (so a broken rule is refused inside the
request), then stored as awaiting attestation and handed to the workers by task name. The workers run the
paired simulation and decide it; `margin_parameters_change` applies it only with a request whose attestation
is within budget, against the version in force, for exactly these values and not older than the budget's
`max_age_minutes`. Anything else refuses (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from riskgov.core import dispatch
from riskgov.core.models import AuditAction
from riskgov.core.models.versions import ChangeSource
from riskgov.core.services.audit import audit_record, decimal_text
from riskgov.markets.models import (
    PARAMETER_FIELDS,
    ChangeRequestStatus,
    MarginParameters,
    Market,
    ParameterChangeRequest,
    RiskBudget,
)
from riskgov.markets.services.guardrails import GuardrailError, Violation, guardrails_check

ATTEST_TASK = "riskgov.risk_budget_attest"
RULE = "risk_budget"


def risk_budget_for(market: Market) -> RiskBudget | None:
    """The market's enabled risk budget, or None when its changes need no attestation."""
    return RiskBudget.objects.filter(market=market, enabled=True).first()


def risk_budget_applies(*, market: Market, source: str) -> bool:
    """Whether a change of `market` from `source` must wait for an attestation (genesis never does)."""
    return source != ChangeSource.GENESIS and risk_budget_for(market) is not None


def normalised_changes(changes: Mapping[str, Decimal | None]) -> dict[str, Decimal | None]:
    """Changes as Decimals; an unknown field raises GuardrailError naming it."""
    unknown = sorted(set(changes) - set(PARAMETER_FIELDS))
    if unknown:
        raise GuardrailError([Violation("unknown_field", name, "is not a margin parameter") for name in unknown])
    return {name: (None if value is None else Decimal(value)) for name, value in changes.items()}


def parameter_change_request(
    *,
    market: Market,
    changes: Mapping[str, Decimal | None],
    source: str,
    reason: str,
    actor: str,
    proposal_ref: str = "",
) -> ParameterChangeRequest:
    """Record a change of a market with a risk budget as awaiting attestation and send it to the workers.

    The static guardrails run first, so a change that breaks one is refused here (GuardrailError, nothing
    written). Rates are fractions (0.05 = 5 %). The request never waits for the simulation.
    """
    if not reason.strip():
        raise GuardrailError([Violation("reason_required", "reason", "a reason is required")])
    normalised = normalised_changes(changes)
    now = timezone.now()
    with transaction.atomic():
        Market.objects.select_for_update().filter(pk=market.pk).first()
        if risk_budget_for(market) is None:
            raise GuardrailError([Violation(RULE, None, f"{market.symbol} has no risk budget to attest against")])
        current = MarginParameters.objects.filter(market=market).order_by("-version").first()
        if current is None:
            raise GuardrailError([Violation("genesis_required", None, f"{market.symbol} has no parameters yet")])
        proposed = current.values() | normalised
        guardrails_check(market=market, current=current, proposed=proposed, source=source, now=now)
        request = ParameterChangeRequest.objects.create(
            market=market,
            source=source,
            changes={name: decimal_text(value) for name, value in normalised.items()},
            reason=reason.strip(),
            actor=actor,
            proposal_ref=proposal_ref,
            base_version=current,
        )
        audit_record(
            action=AuditAction.PARAMETER_CHANGE_REQUESTED,
            subject=request,
            actor=actor,
            data={
                "market": market.symbol,
                "source": source,
                "base_version": current.version,
                "changes": request.changes,
                "proposal": proposal_ref,
            },
        )
        dispatch.send_on_commit(ATTEST_TASK, request_id=request.pk)
    return request


def risk_budget_violations(
    *,
    market: Market,
    current: MarginParameters,
    proposed: Mapping[str, Decimal | None],
    source: str,
    change_request: ParameterChangeRequest | None,
    now: datetime,
) -> list[Violation]:
    """The risk-budget rule for one change about to be written (empty: it may be)."""
    budget = risk_budget_for(market)
    if budget is None or source == ChangeSource.GENESIS:
        return []
    if change_request is None:
        return [
            Violation(
                RULE,
                None,
                f"{market.symbol} has a risk budget: the change must wait for a paired-run attestation "
                f"(ΔP(fund exhausted) ≤ {decimal_text(budget.max_exhaustion_increase)}, ΔES99 ≤ "
                f"{decimal_text(budget.max_es99_increase)}) on the workers",
            )
        ]
    attestation = change_request.attestation or {}
    found: list[Violation] = []
    if change_request.market_id != market.pk or change_request.source != source:
        found.append(Violation(RULE, None, "the attestation belongs to another market or source of change"))
    if not change_request.is_open:
        found.append(Violation(RULE, None, f"change request #{change_request.pk} is {change_request.status}"))
    if not attestation.get("within_budget") or change_request.attested_at is None:
        found.append(Violation(RULE, None, "no attestation within the risk budget"))
    elif now - change_request.attested_at > timedelta(minutes=budget.max_age_minutes):
        found.append(
            Violation(
                RULE,
                None,
                f"the attestation of {change_request.attested_at:%Y-%m-%d %H:%M:%S} UTC has expired "
                f"(valid {budget.max_age_minutes} min)",
            )
        )
    if change_request.base_version_id != current.pk:
        found.append(
            Violation(
                RULE,
                None,
                f"the parameters changed since the attestation (it compared against "
                f"v{change_request.base_version.version}, v{current.version} is in force)",
            )
        )
    elif change_request.proposed_values() != dict(proposed):
        found.append(Violation(RULE, None, "the values differ from the attested ones"))
    return found


def parameter_change_request_refuse(*, request_id: int, reason: str, attestation: dict | None = None) -> bool:
    """Refuse an open request with `reason` (audited); False when it was decided already."""
    now = timezone.now()
    with transaction.atomic():
        request = ParameterChangeRequest.objects.select_for_update().select_related("market").get(pk=request_id)
        if not request.is_open:
            return False
        request.status = ChangeRequestStatus.REFUSED
        request.refusal = reason
        request.decided_at = now
        if attestation is not None:
            request.attestation = attestation
        request.save(update_fields=["status", "refusal", "decided_at", "attestation"])
        audit_record(
            action=AuditAction.PARAMETER_CHANGE_REFUSED,
            subject=request,
            actor="risk-budget",
            data={"market": request.market.symbol, "reason": reason, "attestation": request.attestation},
        )
    return True


BUDGET_COLUMNS = (
    "enabled",
    "max_exhaustion_increase",
    "max_es99_increase",
    "confidence",
    "paths",
    "steps",
    "horizon_days",
    "max_age_minutes",
)


def risk_budget_save(*, budget: RiskBudget, actor: str) -> RiskBudget:
    """Create or edit a market's risk budget (validated, audited with what changed). Raises ValidationError."""
    budget.updated_by = actor
    budget.full_clean()
    with transaction.atomic():
        previous = RiskBudget.objects.select_for_update().filter(pk=budget.pk).first() if budget.pk else None
        budget.save()
        audit_record(
            action=AuditAction.RISK_BUDGET_CHANGED,
            subject=budget,
            actor=actor,
            data={
                "market": budget.market.symbol,
                "created": previous is None,
                "changes": {
                    name: {
                        "old": decimal_text(getattr(previous, name, None)),
                        "new": decimal_text(getattr(budget, name)),
                    }
                    for name in BUDGET_COLUMNS
                    if previous is None or getattr(previous, name) != getattr(budget, name)
                },
            },
        )
    return budget
