"""Double opt-in of report subscriptions: a new subscription is pending until its confirmation link is opened.

The link carries a signed token (the subscription id and its unsubscribe token) that expires after
RISKGOV_REPORT_CONFIRM_MAX_AGE_SECONDS (3 days by default); subscribing the address again sends a new one.
Only confirmed subscriptions receive reports (`report_schedule_recipients`).
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from riskgov.core.links import site_base_url
from riskgov.core.models import AuditAction
from riskgov.core.services.audit import audit_record
from riskgov.core.services.outbox import outbox_email_send
from riskgov.reports.models import ReportSubscription

SUBSCRIPTION_CONFIRM_TASK = "riskgov.send_report_subscription_confirmation"
CONFIRM_SALT = "riskgov.reports.subscription.confirm"
DEFAULT_CONFIRM_MAX_AGE_SECONDS = 3 * 24 * 3600


def subscription_confirm_token(subscription: ReportSubscription) -> str:
    return signing.dumps({"id": subscription.pk, "token": subscription.token}, salt=CONFIRM_SALT)


def report_subscription_confirmation_email(subscription: ReportSubscription) -> EmailMessage:
    base = site_base_url()
    context = {
        "subscription": subscription,
        "confirm_url": base + reverse("reports:subscription-confirm", args=[subscription_confirm_token(subscription)]),
        "unsubscribe_url": base + reverse("reports:unsubscribe", args=[subscription.token]),
    }
    return EmailMessage(
        subject=f"[RiskGov] Confirm your subscription to “{subscription.schedule}”",
        body=render_to_string("email/report_subscription_confirm.txt", context),
        to=[subscription.email],
        headers={"List-Unsubscribe": f"<{context['unsubscribe_url']}>"},
    )


def report_subscription_confirmation_send(*, subscription_id: int) -> bool:
    """Mail the confirmation link of a pending subscription; False when it is gone or confirmed already.

    A mail server that fails raises TransientDeliveryError (the task retries it with backoff).
    """
    subscription = (
        ReportSubscription.objects.select_related("schedule")
        .filter(pk=subscription_id, confirmed_at__isnull=True)
        .first()
    )
    if subscription is None:
        return False
    outbox_email_send(report_subscription_confirmation_email(subscription))
    return True


def report_subscription_confirm(*, token: str) -> ReportSubscription | None:
    """Confirm the subscription a confirmation link is for; None when the link expired, was changed or is stale."""
    max_age = int(getattr(settings, "RISKGOV_REPORT_CONFIRM_MAX_AGE_SECONDS", DEFAULT_CONFIRM_MAX_AGE_SECONDS))
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=max_age)
    except signing.BadSignature:  # also SignatureExpired
        return None
    subscription = (
        ReportSubscription.objects.select_related("schedule").filter(pk=data.get("id"), token=data.get("token")).first()
    )
    if subscription is None:
        return None
    with transaction.atomic():
        if ReportSubscription.objects.filter(pk=subscription.pk, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now()
        ):
            audit_record(
                action=AuditAction.REPORT_SUBSCRIPTION_CONFIRMED,
                subject=subscription,
                actor=f"confirm-link:{subscription.email}",
                data={"schedule": subscription.schedule_id, "email": subscription.email},
            )
    subscription.refresh_from_db()
    return subscription
