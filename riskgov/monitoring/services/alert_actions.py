"""What people do with an open alert: acknowledge it, snooze it until a time, or resolve it; each with who and why.

Each action locks the alert row, refuses an alert that is no longer open, and writes an audit record in the
same transaction. A snooze hides the alert from the banner and holds back its deliveries until its time (see
`riskgov.monitoring.services.monitoring`); a manual resolve sends the "resolved" notice unless snoozed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from riskgov.core.errors import DomainError
from riskgov.core.models import AuditAction
from riskgov.core.services.audit import audit_record
from riskgov.monitoring.models import Alert, AlertDeliveryEvent, AlertState
from riskgov.monitoring.services.alert_delivery import alert_deliveries_create

SNOOZE_LONGEST = timedelta(days=30)


class AlertActionError(DomainError):
    """An action an alert cannot take now; the message says why, for the person who asked (409, or 400 for
    input at fault, which it names)."""

    status = 409
    default_code = "alert_not_open"


def _open_alert_locked(alert_id: int) -> Alert:
    alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None:
        raise AlertActionError("this alert does not exist", code="not_found", status=404)
    if alert.state != AlertState.OPEN:
        raise AlertActionError(f"this alert was already resolved at {alert.resolved_at:%Y-%m-%d %H:%M} UTC")
    return alert


def _reason_checked(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise AlertActionError("a reason is required", code="required", field="reason", status=400)
    return reason


def alert_acknowledge(*, alert_id: int, actor: str, reason: str, now: datetime | None = None) -> Alert:
    """Record that `actor` is looking into an open alert; it stays open and in the banner."""
    now = now or timezone.now()
    reason = _reason_checked(reason)
    with transaction.atomic():
        alert = _open_alert_locked(alert_id)
        alert.acknowledged_at, alert.acknowledged_by, alert.acknowledge_reason = now, actor, reason
        alert.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledge_reason"])
        audit_record(action=AuditAction.ALERT_ACKNOWLEDGED, subject=alert, actor=actor, data={"reason": reason})
    return alert


def alert_snooze(*, alert_id: int, actor: str, until: datetime, reason: str, now: datetime | None = None) -> Alert:
    """Hide an open alert from the banner and hold back its deliveries until `until` (at most 30 days ahead).

    The snooze covers the alert's rule and market: if the condition clears and returns before `until`, the
    new alert opens snoozed too.
    """
    now = now or timezone.now()
    reason = _reason_checked(reason)
    if until <= now:
        raise AlertActionError("the snooze must end in the future", code="invalid", field="until", status=400)
    if until > now + SNOOZE_LONGEST:
        raise AlertActionError(
            f"a snooze lasts at most {SNOOZE_LONGEST.days} days", code="invalid", field="until", status=400
        )
    with transaction.atomic():
        alert = _open_alert_locked(alert_id)
        alert.snoozed_until, alert.snoozed_by, alert.snooze_reason = until, actor, reason
        alert.save(update_fields=["snoozed_until", "snoozed_by", "snooze_reason"])
        audit_record(
            action=AuditAction.ALERT_SNOOZED,
            subject=alert,
            actor=actor,
            data={"reason": reason, "until": until.isoformat()},
        )
    return alert


def alert_resolve(*, alert_id: int, actor: str, reason: str, now: datetime | None = None) -> Alert:
    """Resolve an open alert by hand. If its condition still holds, the next sweep opens a new alert."""
    now = now or timezone.now()
    reason = _reason_checked(reason)
    with transaction.atomic():
        alert = _open_alert_locked(alert_id)
        alert.state, alert.resolved_at, alert.resolved_by, alert.resolve_reason = (
            AlertState.RESOLVED,
            now,
            actor,
            reason,
        )
        alert.save(update_fields=["state", "resolved_at", "resolved_by", "resolve_reason"])
        audit_record(action=AuditAction.ALERT_RESOLVED, subject=alert, actor=actor, data={"reason": reason})
        if not alert.is_snoozed(now):
            alert_deliveries_create(alert=alert, event=AlertDeliveryEvent.RESOLVED)
    return alert
