"""Alert notifications by e-mail and signed webhook; one AlertDelivery row per event and target.

Webhooks POST a JSON body with headers::

    X-RiskGov-Timestamp: <unix seconds>
    X-RiskGov-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
    X-RiskGov-Delivery:  <delivery id, the same on every retry>

A receiver recomputes the HMAC over the timestamp and the raw body with the rule's secret, compares in
constant time and rejects old timestamps (replays). Connection errors, timeouts, 429 and 5xx are
transient and retried with backoff by the task; other 4xx fail the delivery at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from riskgov.core import dispatch
from riskgov.monitoring.models import Alert, AlertDelivery, AlertDeliveryChannel, AlertDeliveryStatus

SIGNATURE_HEADER = "X-RiskGov-Signature"
TIMESTAMP_HEADER = "X-RiskGov-Timestamp"
DELIVERY_HEADER = "X-RiskGov-Delivery"
WEBHOOK_TIMEOUT_SECONDS = 10
REPLAY_WINDOW_SECONDS = 300


class TransientDeliveryError(Exception):
    """The target could not take the notification now; the attempt is recorded and retried."""


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_signature_valid(
    *,
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float | None = None,
    window_seconds: int = REPLAY_WINDOW_SECONDS,
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - stamp) > window_seconds:
        return False
    return hmac.compare_digest(webhook_signature(secret=secret, timestamp=stamp, body=body), signature)


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
            "state": alert.state,
            "opened_at": stamp(alert.opened_at),
            "resolved_at": stamp(alert.resolved_at),
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


def _send_email(delivery: AlertDelivery, payload: dict[str, Any]) -> None:
    alert = delivery.alert
    verb = "Resolved" if delivery.event == "resolved" else "Alert"
    body = [
        alert.summary,
        "",
        f"Rule: {alert.rule.name} ({alert.rule.get_kind_display()})",
        f"Opened: {alert.opened_at:%Y-%m-%d %H:%M} UTC",
    ]
    if alert.resolved_at:
        body.append(f"Resolved: {alert.resolved_at:%Y-%m-%d %H:%M} UTC")
    body += ["", "Evidence:", json.dumps(payload["alert"]["latest_evidence"], indent=2, sort_keys=True, default=str)]
    try:
        send_mail(
            f"[RiskGov] {verb}: {alert.summary}"[:200], "\n".join(body), settings.DEFAULT_FROM_EMAIL, [delivery.target]
        )
    except OSError as error:  # SMTP errors are OSErrors: the mail server may take it later
        raise TransientDeliveryError(f"mail: {error}") from error


def _post_webhook(delivery: AlertDelivery, payload: dict[str, Any]) -> int:
    """POST the signed payload; returns the status code. Raises TransientDeliveryError or ValueError."""
    body = json.dumps(payload | {"delivery": delivery.pk}, sort_keys=True, separators=(",", ":"), default=str).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(
        delivery.target,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "RiskGov-Alerts/1",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: webhook_signature(
                secret=delivery.alert.rule.webhook_secret, timestamp=timestamp, body=body
            ),
            DELIVERY_HEADER: str(delivery.pk),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        if error.code == 429 or error.code >= 500:
            raise TransientDeliveryError(f"HTTP {error.code}") from error
        raise ValueError(f"HTTP {error.code}") from error
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise TransientDeliveryError(str(getattr(error, "reason", error))) from error


def alert_delivery_send(*, delivery_id: int, final_attempt: bool = False) -> AlertDelivery:
    """Make one attempt at a delivery and record it; a sent or failed delivery is left alone.

    Raises TransientDeliveryError after recording a transient failure (unless `final_attempt`, which
    marks the delivery failed instead) so the task retries it.
    """
    transient: TransientDeliveryError | None = None
    with transaction.atomic():
        delivery = (
            AlertDelivery.objects.select_for_update(of=("self",))
            .select_related("alert", "alert__rule", "alert__market")
            .get(pk=delivery_id)
        )
        if delivery.status in (AlertDeliveryStatus.SENT, AlertDeliveryStatus.FAILED):
            return delivery
        delivery.attempts += 1
        delivery.last_attempt_at = timezone.now()
        payload = alert_payload(delivery.alert, delivery.event)
        try:
            if delivery.channel == AlertDeliveryChannel.EMAIL:
                _send_email(delivery, payload)
            else:
                delivery.response_code = _post_webhook(delivery, payload)
        except TransientDeliveryError as error:
            transient = error
            delivery.last_error = str(error)[:2000]
            code = str(error).removeprefix("HTTP ")
            delivery.response_code = int(code) if code.isdigit() else None
            delivery.status = AlertDeliveryStatus.FAILED if final_attempt else AlertDeliveryStatus.RETRYING
        except ValueError as error:
            delivery.last_error = str(error)[:2000]
            code = str(error).removeprefix("HTTP ")
            delivery.response_code = int(code) if code.isdigit() else None
            delivery.status = AlertDeliveryStatus.FAILED
        else:
            delivery.status = AlertDeliveryStatus.SENT
            delivery.sent_at = timezone.now()
            delivery.last_error = ""
        delivery.save()
    if transient is not None and not final_attempt:
        raise transient
    return delivery
