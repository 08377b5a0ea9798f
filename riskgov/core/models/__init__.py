from riskgov.core.models.audit import AuditRecord

__all__ = [
    "AuditRecord",
]
