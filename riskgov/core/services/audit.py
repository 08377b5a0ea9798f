from decimal import Decimal
from typing import Any

from django.db import models

from riskgov.core.models import AuditAction, AuditRecord


def audit_record(
    *, action: AuditAction, subject: models.Model, actor: str, data: dict[str, Any] | None = None
) -> AuditRecord:
    """Append an audit record for `subject`; call inside the transaction that made the change."""
    return AuditRecord.objects.create(
        action=action,
        subject_type=subject._meta.label_lower,
        subject_id=str(subject.pk),
        actor=actor,
        data=data or {},
    )


def decimal_text(value: Any) -> Any:
    """A JSON-safe value for audit data and evidence: Decimals as plain strings ("0.02"), the rest as is."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def changed_fields(current: models.Model | None, proposed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"old", "new"}} for the fields of `proposed` that differ from `current` (all when it is None)."""
    return {
        name: {"old": None if current is None else decimal_text(getattr(current, name)), "new": decimal_text(value)}
        for name, value in proposed.items()
        if current is None or getattr(current, name) != value
    }
