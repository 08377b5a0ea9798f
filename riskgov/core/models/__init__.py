from riskgov.core.models.audit import AuditAction, AuditRecord

__all__ = [
    "AuditAction",
    "AuditRecord",
]
