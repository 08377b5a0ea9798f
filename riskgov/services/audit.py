from typing import Any

from django.db import models

from riskgov.models import AuditRecord


def audit_record(*, action: str, subject: models.Model, actor: str, data: dict[str, Any] | None = None) -> AuditRecord:
    """Append an audit record for `subject`; call inside the transaction that made the change."""
    return AuditRecord.objects.create(
        action=action,
        subject_type=subject._meta.label_lower,
        subject_id=str(subject.pk),
        actor=actor,
        data=data or {},
    )
