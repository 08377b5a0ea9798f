"""Alert notifications by e-mail and signed webhook; one AlertDelivery row per event and target.

Deliveries go through the outbox (`riskgov.core.services.outbox`): no row lock while sending, each attempt
recorded, transient failures retried by the task. Webhooks are signed with the rule's secret.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction

from riskgov.core import dispatch
from riskgov.core.services.outbox import outbox_delivery_send, outbox_email_send, outbox_webhook_post
from riskgov.monitoring.models import Alert, AlertDelivery, AlertDeliveryChannel, AlertDeliveryStatus

WEBHOOK_USER_AGENT = "RiskGov-Alerts/1"


def alert_payload(alert: Alert, event: str) -> dict[str, Any]:
    def stamp(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "event": f"alert.{event}",
        "alert": {
            "id": alert.pk,
            "rule": alert.rule.name,
            "kind": alert.rule.kind,
            "market": alert.market.symbol if alert.market else None,
            "summary": alert.summary,
            "severity": alert.severity_name,
            "state": alert.state,
            "opened_at": stamp(alert.opened_at),
            "resolved_at": stamp(alert.resolved_at),
            "resolved_by": alert.resolved_by or None,
            "evidence": alert.evidence,
            "latest_evidence": alert.latest_evidence,
        },
    }


def alert_deliveries_create(*, alert: Alert, event: str) -> list[AlertDelivery]:
    """Record one delivery per e-mail recipient and webhook of the alert's rule; send them after commit.

    Idempotent: a (alert, event, channel, target) row already recorded is not added again.
    """
    rule = alert.rule
    rows = [
        AlertDelivery(alert=alert, event=event, channel=AlertDeliveryChannel.EMAIL, target=address)
        for address in dict.fromkeys(rule.recipients or [])
    ]
    rows += [
        AlertDelivery(alert=alert, event=event, channel=AlertDeliveryChannel.WEBHOOK, target=url)
        for url in dict.fromkeys(rule.webhook_urls or [])
    ]
    AlertDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    deliveries = list(AlertDelivery.objects.filter(alert=alert, event=event, status=AlertDeliveryStatus.PENDING))
    ids = [d.pk for d in deliveries]
    if ids:
        transaction.on_commit(lambda: _enqueue(ids))
    return deliveries


def _enqueue(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        dispatch.send("riskgov.deliver_alert", delivery_id=delivery_id)


def _alert_email(delivery: AlertDelivery, payload: dict[str, Any]) -> EmailMessage:
    alert = delivery.alert
    verb = "Resolved" if delivery.event == "resolved" else "Alert"
    body = [
        alert.summary,
        "",
        f"Rule: {alert.rule.name} ({alert.rule.get_kind_display()})",
        f"Severity: {alert.get_severity_display()}",
        f"Opened: {alert.opened_at:%Y-%m-%d %H:%M} UTC",
    ]
    if alert.resolved_at:
        body.append(f"Resolved: {alert.resolved_at:%Y-%m-%d %H:%M} UTC")
    if alert.resolved_by:
        body.append(f"Resolved by: {alert.resolved_by} ({alert.resolve_reason})")
    body += ["", "Evidence:", json.dumps(payload["alert"]["latest_evidence"], indent=2, sort_keys=True, default=str)]
    return EmailMessage(
        f"[RiskGov] {verb}: {alert.summary}"[:200], "\n".join(body), settings.DEFAULT_FROM_EMAIL, [delivery.target]
    )


def _alert_send(delivery: AlertDelivery) -> int | None:
    """The outbox channel of alerts: an e-mail or a webhook POST signed with the rule's secret."""
    payload = alert_payload(delivery.alert, delivery.event)
    if delivery.channel == AlertDeliveryChannel.EMAIL:
        outbox_email_send(_alert_email(delivery, payload))
        return None
    return outbox_webhook_post(
        url=delivery.target,
        payload=payload,
        secret=delivery.alert.rule.webhook_secret,
        delivery_id=delivery.pk,
        user_agent=WEBHOOK_USER_AGENT,
    )


def alert_delivery_send(*, delivery_id: int, final_attempt: bool = False) -> AlertDelivery:
    """Make one attempt at a delivery and record it; a sent, failed or given-up delivery is left alone.

    Raises TransientDeliveryError after recording a transient failure (unless `final_attempt`, which
    records the delivery as given up instead) so the task retries it.
    """
    return outbox_delivery_send(
        deliveries=AlertDelivery.objects.select_related("alert", "alert__rule", "alert__market"),
        delivery_id=delivery_id,
        channel=_alert_send,
        final_attempt=final_attempt,
    )
