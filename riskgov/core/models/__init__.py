from riskgov.core.models.audit import AuditAction, AuditRecord
from riskgov.core.models.outbox import OUTBOX_OPEN_STATES, OutboxDelivery, OutboxStatus
from riskgov.core.models.permissions import NamedPermissions, Permission

__all__ = [
    "OUTBOX_OPEN_STATES",
    "AuditAction",
    "AuditRecord",
    "NamedPermissions",
    "OutboxDelivery",
    "OutboxStatus",
    "Permission",
]
