"""The one door for sending an outbox delivery: claim it, send it with no transaction open, record the attempt.

No row lock is held while a channel talks to SMTP or HTTP. The claim is one conditional UPDATE (the row must
be pending or retrying and not leased) that commits at once and leases the row (`claimed_until`); the send
runs outside any transaction; the outcome is a second conditional UPDATE that only the lease holder's attempt
can make. So an attempt run twice never sends a delivery already sent, refused or given up, and an attempt
whose worker died releases the delivery when its lease expires.

Channels raise TransientDeliveryError for what may pass (timeouts, 429, 5xx, an unreachable mail server) and
DeliveryRefused for what will not (other 4xx). Webhooks POST a JSON body with headers::

    X-RiskGov-Timestamp: <unix seconds>
    X-RiskGov-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
    X-RiskGov-Delivery:  <delivery id, the same on every retry>

A receiver recomputes the HMAC over the timestamp and the raw body with its secret, compares in constant time
and rejects old timestamps (replays): `webhook_signature_valid`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.core.mail import EmailMessage
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from riskgov.core.models.outbox import OUTBOX_OPEN_STATES, OutboxDelivery, OutboxStatus

SIGNATURE_HEADER = "X-RiskGov-Signature"
TIMESTAMP_HEADER = "X-RiskGov-Timestamp"
DELIVERY_HEADER = "X-RiskGov-Delivery"
WEBHOOK_TIMEOUT_SECONDS = 10
REPLAY_WINDOW_SECONDS = 300
WEBHOOK_SCHEMES = ("http", "https")
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500
# Longer than the hard time limit of any task making an attempt, so a live attempt never loses its lease.
LEASE_SECONDS = 300
ERROR_MAX_CHARS = 2000

logger = logging.getLogger(__name__)

D = TypeVar("D", bound=OutboxDelivery)
# Sends one delivery; returns the target's reply code (None when there is none, as for e-mail).
Channel = Callable[[D], int | None]


class TransientDeliveryError(Exception):
    """The target could not take the delivery now; the attempt is recorded and retried later."""

    def __init__(self, message: str, *, response_code: int | None = None) -> None:
        super().__init__(message)
        self.response_code = response_code


class DeliveryInProgress(TransientDeliveryError):
    """Another attempt holds the delivery's lease; a later attempt finds it sent or takes it over."""


class DeliveryRefused(Exception):
    """The target refused the delivery for good (a client error); recorded as failed, never retried."""

    def __init__(self, message: str, *, response_code: int | None = None) -> None:
        super().__init__(message)
        self.response_code = response_code


def outbox_delivery_send(
    *,
    deliveries: QuerySet[D],
    delivery_id: int,
    channel: Channel[D],
    final_attempt: bool = False,
    lease_seconds: int = LEASE_SECONDS,
) -> D:
    """Make one attempt at delivery `delivery_id` through `channel` and record it on the row.

    `deliveries` is the model's queryset with the related rows the channel reads (select_related). Call it
    outside a transaction (from a task): the claim must commit before the send. A final delivery (sent,
    failed, gave up) is returned untouched. A transient failure is recorded as retrying and re-raised as
    TransientDeliveryError so the task retries it; on the `final_attempt` it is recorded as gave up instead.
    DeliveryInProgress (a TransientDeliveryError) means another attempt holds the lease.
    """
    lease = _claim(deliveries.model, delivery_id, lease_seconds)
    delivery = deliveries.get(pk=delivery_id)
    if lease is None:
        if delivery.is_final or final_attempt:
            return delivery
        raise DeliveryInProgress(f"delivery {delivery_id} is being sent by another attempt")
    try:
        response_code = channel(delivery)
    except TransientDeliveryError as error:
        status = OutboxStatus.GAVE_UP if final_attempt else OutboxStatus.RETRYING
        logger.warning(
            "%s %s attempt %s failed (%s): %s", delivery._meta.label, delivery.pk, delivery.attempts, status, error
        )
        _record(delivery, lease, status=status, last_error=str(error), response_code=error.response_code)
        if not final_attempt:
            raise
    except DeliveryRefused as error:
        _record(delivery, lease, status=OutboxStatus.FAILED, last_error=str(error), response_code=error.response_code)
    except Exception as error:
        # not a delivery outcome (a bug, a time limit): release the lease for the next attempt, keep the status
        _record(delivery, lease, status=delivery.status, last_error=f"{type(error).__name__}: {error}")
        raise
    else:
        _record(
            delivery,
            lease,
            status=OutboxStatus.SENT,
            last_error="",
            response_code=response_code,
            sent_at=timezone.now(),
        )
    return delivery


def _claim(model: type[OutboxDelivery], delivery_id: int, lease_seconds: int) -> datetime | None:
    """Lease an open, unleased delivery and count the attempt: the lease (the claim's token), or None."""
    now = timezone.now()
    lease = now + timedelta(seconds=lease_seconds)
    claimed = (
        model._default_manager.filter(pk=delivery_id, status__in=OUTBOX_OPEN_STATES)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(attempts=F("attempts") + 1, last_attempt_at=now, claimed_until=lease)
    )
    return lease if claimed else None


def _record(delivery: OutboxDelivery, lease: datetime, *, last_error: str, **outcome: Any) -> None:
    """Write the attempt's outcome and release the lease, unless a later attempt took the lease over."""
    type(delivery)._default_manager.filter(pk=delivery.pk, claimed_until=lease).update(
        claimed_until=None, last_error=last_error[:ERROR_MAX_CHARS], **outcome
    )
    delivery.refresh_from_db()


def outbox_email_send(message: EmailMessage) -> None:
    """Send `message` through Django's mail backend; a refused or unreachable mail server is transient."""
    try:
        message.send()
    except OSError as error:  # smtplib's errors are OSErrors: the server may take it later
        raise TransientDeliveryError(
            f"{type(error).__name__}: {error}", response_code=getattr(error, "smtp_code", None)
        ) from error


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


def outbox_webhook_post(*, url: str, payload: dict[str, Any], secret: str, delivery_id: int, user_agent: str) -> int:
    """POST `payload` (plus the delivery id) as signed JSON to `url`; the HTTP status of a 2xx/3xx answer.

    Connection errors, timeouts, 429 and 5xx raise TransientDeliveryError; other 4xx and a URL that is not
    http(s) DeliveryRefused.
    """
    if urllib.parse.urlsplit(url).scheme not in WEBHOOK_SCHEMES:
        raise DeliveryRefused(f"not an http(s) URL: {url}")
    body = json.dumps(payload | {"delivery": delivery_id}, sort_keys=True, separators=(",", ":"), default=str).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": user_agent,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: webhook_signature(secret=secret, timestamp=timestamp, body=body),
            DELIVERY_HEADER: str(delivery_id),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        if error.code == HTTP_TOO_MANY_REQUESTS or error.code >= HTTP_SERVER_ERROR:
            raise TransientDeliveryError(f"HTTP {error.code}", response_code=error.code) from error
        raise DeliveryRefused(f"HTTP {error.code}", response_code=error.code) from error
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise TransientDeliveryError(str(getattr(error, "reason", error))) from error
