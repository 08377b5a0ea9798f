from riskgov.core.models.audit import AuditAction, AuditRecord
from riskgov.core.models.outbox import OUTBOX_OPEN_STATES, OutboxDelivery, OutboxStatus

__all__ = [
    "OUTBOX_OPEN_STATES",
    "AuditAction",
    "AuditRecord",
    "OutboxDelivery",
    "OutboxStatus",
]
