"""Guardrail rules (ParameterRule rows): every save and delete is validated, atomic and audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from riskgov.core.models import AuditAction
from riskgov.core.services.audit import audit_record, changed_fields, decimal_text
from riskgov.markets.models import ParameterRule

# The columns an audit record compares; the market as its id, bounds as decimal strings.
RULE_COLUMNS = ("field", "market_id", "min_value", "max_value", "max_abs_change", "max_rel_change")


def parameter_rule_save(*, rule: ParameterRule, actor: str) -> ParameterRule:
    """Create `rule` or save its edited values, with an audit record of what changed.

    Bounds are in the field's own units (rates as fractions, 0.05 = 5 %); `max_rel_change` is a fraction of the
    current value. Raises ValidationError (from `full_clean`) and writes nothing when the row is invalid.
    """
    rule.full_clean()
    with transaction.atomic():
        # ordered by pk alone: the default ordering joins the nullable market, which FOR UPDATE refuses
        previous = (
            ParameterRule.objects.select_for_update().filter(pk=rule.pk).order_by("pk").first() if rule.pk else None
        )
        rule.save()
        audit_record(
            action=AuditAction.PARAMETER_RULE_CHANGED,
            subject=rule,
            actor=actor,
            data={
                "rule": str(rule),
                "created": previous is None,
                "changes": changed_fields(previous, _values(rule)),
            },
        )
    return rule


def parameter_rule_delete(*, rule: ParameterRule, actor: str) -> None:
    """Delete `rule` with an audit record of its last values (a field left with no rule refuses every change)."""
    with transaction.atomic():
        audit_record(
            action=AuditAction.PARAMETER_RULE_DELETED,
            subject=rule,
            actor=actor,
            data={"rule": str(rule), "values": {name: decimal_text(value) for name, value in _values(rule).items()}},
        )
        rule.delete()


def _values(rule: ParameterRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_COLUMNS}
