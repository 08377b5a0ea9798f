"""Report subscriptions need a double opt-in: pending until the mailed link is opened, and only then delivered."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from riskgov.core.models import AuditRecord
from riskgov.reports.models import ExposureReport, ReportSubscription
from riskgov.reports.services.subscriptions import SUBSCRIPTION_CONFIRM_TASK
from riskgov.reports.tasks import (
    deliver_exposure_report,
    generate_exposure_report,
    send_report_subscription_confirmation,
)

pytestmark = pytest.mark.django_db

HOLDER = "0x1111111111111111111111111111111111111111"


def _holder() -> Client:
    client = Client()
    session = client.session
    session["siwe_address"] = HOLDER
    session.save()
    return client


def _confirmation_mails(sent: list, email: str) -> list:
    """Run the confirmation tasks the requests sent (what the worker does); the mails to `email`."""
    for name, _, kwargs, _ in sent:
        if name == SUBSCRIPTION_CONFIRM_TASK:
            send_report_subscription_confirmation.apply(kwargs=kwargs)
    sent.clear()
    return [m for m in mail.outbox if m.to == [email]]


def _confirm_path(body: str) -> str:
    match = re.search(r"/reports/subscriptions/confirm/([^/\s]+)/", body)
    assert match, body
    return reverse("reports:subscription-confirm", args=[match.group(1)])


def _generate(schedule, label: str, django_capture_on_commit_callbacks) -> ExposureReport:
    with (
        mock.patch.object(deliver_exposure_report, "delay", deliver_exposure_report),
        django_capture_on_commit_callbacks(execute=True),
    ):
        return ExposureReport.objects.get(pk=generate_exposure_report(schedule_id=schedule.pk, period=label))


def test_a_new_subscription_gets_reports_only_once_confirmed_from_its_mail(
    protocol, daily_schedule, django_capture_on_commit_callbacks, _tasks_stay_off_the_broker
) -> None:
    holder = _holder()
    with django_capture_on_commit_callbacks(execute=True):
        response = holder.post(
            reverse("reports:subscribe"), {"schedule": daily_schedule.pk, "email": "Holder@Example.org"}, follow=True
        )
    assert "once it confirms from the mail" in response.content.decode()
    subscription = ReportSubscription.objects.get(email="holder@example.org")
    assert subscription.confirmed_at is None
    (confirmation,) = _confirmation_mails(_tasks_stay_off_the_broker, "holder@example.org")
    assert "Confirm" in confirmation.subject and str(daily_schedule) in confirmation.subject
    confirm_path = _confirm_path(confirmation.body)

    # pending: the report goes to the listed recipients only
    mail.outbox.clear()
    report = _generate(daily_schedule, protocol.period.label, django_capture_on_commit_callbacks)
    assert "holder@example.org" not in {m.to[0] for m in mail.outbox}
    assert not report.deliveries.filter(recipient="holder@example.org").exists()

    page = Client().get(confirm_path)  # the link works without signing in
    assert page.status_code == 200 and "Subscription confirmed" in page.content.decode()
    subscription.refresh_from_db()
    assert subscription.confirmed_at is not None
    assert AuditRecord.objects.filter(action="report_subscription.confirmed", subject_id=str(subscription.pk)).exists()
    assert Client().get(confirm_path).status_code == 200  # opening it again changes nothing

    previous_day = (protocol.period.start - timedelta(days=1)).date().isoformat()
    mail.outbox.clear()
    _generate(daily_schedule, previous_day, django_capture_on_commit_callbacks)
    to_holder = [m for m in mail.outbox if m.to == ["holder@example.org"]]
    assert len(to_holder) == 1 and f"/reports/unsubscribe/{subscription.token}/" in to_holder[0].body


def test_subscribing_again_while_pending_sends_a_new_link_and_an_old_link_expires(
    daily_schedule, django_capture_on_commit_callbacks, _tasks_stay_off_the_broker
) -> None:
    holder = _holder()
    past = timezone.now() - timedelta(days=4)
    with time_machine.travel(past, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            holder.post(reverse("reports:subscribe"), {"schedule": daily_schedule.pk, "email": "a@example.org"})
        (old,) = _confirmation_mails(_tasks_stay_off_the_broker, "a@example.org")
    assert Client().get(_confirm_path(old.body)).status_code == 404  # three days at most
    assert ReportSubscription.objects.get().confirmed_at is None

    with django_capture_on_commit_callbacks(execute=True):
        _holder().post(reverse("reports:subscribe"), {"schedule": daily_schedule.pk, "email": "A@example.org"})
    mails = _confirmation_mails(_tasks_stay_off_the_broker, "a@example.org")
    assert len(mails) == 2 and ReportSubscription.objects.count() == 1
    assert Client().get(_confirm_path(mails[-1].body)).status_code == 200
    assert ReportSubscription.objects.get().confirmed_at is not None

    tampered = _confirm_path(mails[-1].body)[:-3] + "xx/"
    assert Client().get(tampered).status_code == 404


def test_a_bad_address_names_the_field_and_stores_nothing(daily_schedule) -> None:
    response = _holder().post(
        reverse("reports:subscribe"), {"schedule": daily_schedule.pk, "email": "not-an-address"}, follow=True
    )
    assert "Enter a valid e-mail address" in response.content.decode()
    assert not ReportSubscription.objects.exists()


def test_confirmation_mails_to_one_address_are_rate_limited(daily_schedule, settings) -> None:
    settings.RATELIMIT_CACHE_PREFIX = f"rl-{uuid.uuid4().hex}:"  # counters no earlier run shares
    settings.RISKGOV_RATE_LIMITS = {"subscribe": {"ip": "100/m", "subject": "2/m"}}
    holder = _holder()
    form = {"schedule": daily_schedule.pk, "email": "target@example.org"}
    assert [holder.post(reverse("reports:subscribe"), form).status_code for _ in range(2)] == [302, 302]
    refused = holder.post(reverse("reports:subscribe"), form)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert ReportSubscription.objects.filter(email="target@example.org").count() == 1
