"""The one door for changing margin parameters: every change adds a version, atomically, audited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from riskgov.core.models import AuditAction
from riskgov.core.models.versions import ChangeSource
from riskgov.core.services.audit import audit_record, changed_fields
from riskgov.markets.models import (
    PARAMETER_FIELDS,
    ChangeRequestStatus,
    MarginParameters,
    Market,
    ParameterChangeRequest,
)
from riskgov.markets.services.guardrails import GuardrailError, Violation, guardrails_check
from riskgov.markets.services.risk_budget import normalised_changes, risk_budget_violations


def margin_parameters_change(
    *,
    market: Market,
    changes: Mapping[str, Decimal | None],
    source: str,
    reason: str,
    actor: str,
    effective_at: datetime | None = None,
    proposal_ref: str = "",
    change_request: ParameterChangeRequest | None = None,
) -> MarginParameters:
    """Add the next version of `market`'s parameters with `changes` applied.

    Rates are fractions (0.05 = 5 %), `oi_cap` and `size_margin_base` quote notional. Raises
    GuardrailError (naming each broken rule and field) and writes nothing when a rule fails. A market with a
    risk budget also needs `change_request`, attested within the budget for exactly this change (see
    `riskgov.markets.services.risk_budget`); it is marked applied with the new version.
    """
    if not reason.strip():
        raise GuardrailError([Violation("reason_required", "reason", "a reason is required")])
    normalised = normalised_changes(changes)
    now = timezone.now()
    with transaction.atomic():
        Market.objects.select_for_update().filter(pk=market.pk).first()  # serialise versions per market
        current = MarginParameters.objects.filter(market=market).order_by("-version").first()
        if current is None and source != ChangeSource.GENESIS:
            raise GuardrailError([Violation("genesis_required", None, f"{market.symbol} has no parameters yet")])
        if current is not None and source == ChangeSource.GENESIS:
            raise GuardrailError([Violation("genesis_once", None, f"{market.symbol} already has parameters")])
        proposed = current.values() if current else dict.fromkeys(PARAMETER_FIELDS)
        proposed.update(normalised)
        guardrails_check(market=market, current=current, proposed=proposed, source=source, now=now)
        if current is not None:
            if change_request is not None:  # locked: one worker applies it
                change_request = ParameterChangeRequest.objects.select_for_update().get(pk=change_request.pk)
            budget_violations = risk_budget_violations(
                market=market,
                current=current,
                proposed=proposed,
                source=source,
                change_request=change_request,
                now=now,
            )
            if budget_violations:
                raise GuardrailError(budget_violations)
        version = MarginParameters.objects.create(
            market=market,
            version=(current.version + 1) if current else 1,
            effective_at=effective_at or now,
            source=source,
            reason=reason.strip(),
            actor=actor,
            proposal_ref=proposal_ref,
            **proposed,
        )
        audit_record(
            action=AuditAction.PARAMETERS_CHANGED,
            subject=version,
            actor=actor,
            data={
                "market": market.symbol,
                "version": version.version,
                "source": source,
                "reason": version.reason,
                "changes": changed_fields(current, proposed),
                **({"attestation": change_request.attestation} if change_request is not None else {}),
            },
        )
        if change_request is not None:
            change_request.status = ChangeRequestStatus.APPLIED
            change_request.version = version
            change_request.decided_at = now
            change_request.save(update_fields=["status", "version", "decided_at"])
    return version
