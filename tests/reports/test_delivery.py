"""E-mail delivery: bodies and CSV attachment, unsubscribe links, and failed sends retried per recipient."""

import csv
import io
from smtplib import SMTPServerDisconnected
from unittest import mock

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from riskgov.core.formatting import plain
from riskgov.core.templatetags.riskgov_format import usd
from riskgov.reports.models import DeliveryStatus, ExposureReport, ReportDelivery
from riskgov.reports.services.reports import report_subscription_create
from riskgov.reports.services.subscriptions import report_subscription_confirm, subscription_confirm_token
from riskgov.reports.tasks import deliver_exposure_report, generate_exposure_report

pytestmark = pytest.mark.django_db


def _generate(schedule, period, django_capture_on_commit_callbacks, *, send=True):
    """Run the beat task's body; with send=False the deliveries are recorded but not enqueued.

    The on-commit callbacks run while `delay` is still patched, however the task enqueues them.
    """
    with (
        mock.patch.object(deliver_exposure_report, "delay", deliver_exposure_report if send else mock.Mock()),
        django_capture_on_commit_callbacks(execute=True),
    ):
        return ExposureReport.objects.get(pk=generate_exposure_report(schedule_id=schedule.pk, period=period.label))


def test_report_email_has_text_html_with_charts_and_the_csv(
    protocol, daily_schedule, django_capture_on_commit_callbacks
):
    subscription = report_subscription_create(schedule=daily_schedule, email="Holder@Example.org", created_by="test")
    assert report_subscription_confirm(token=subscription_confirm_token(subscription))  # the mailed link, opened
    report = _generate(daily_schedule, protocol.period, django_capture_on_commit_callbacks)

    assert sorted(m.to[0] for m in mail.outbox) == ["dao@example.org", "holder@example.org", "risk@example.org"]
    assert set(report.deliveries.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    message = next(m for m in mail.outbox if m.to == ["holder@example.org"])
    protocol_row = protocol.last[0]
    assert message.subject == f"[RiskGov] Daily protocol report · {protocol.period.label} · 1 alert"
    assert f"Long OI          {usd(protocol_row.oi_long)}" in message.body
    assert f"/reports/{report.pk}/" in message.body

    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert html.count("<svg") == len(report.charts) >= 3
    assert usd(protocol_row.oi_short) in html
    assert f"/insurance/runs/{protocol.run.pk}/" in html

    ((name, body, attachment_type),) = message.attachments
    assert name == f"exposure-report-daily-protocol-report-{protocol.period.label}.csv"
    assert attachment_type == "text/csv"
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["section", "scope", "metric", "value"]
    assert ["headline", "ALL", "oi_long", plain(report.content["headline"]["oi_long"])] in rows  # 85260, not 85260.000…
    assert any(row[:3] == ["shock_bad_debt", "ALL", "-50pct"] for row in rows)

    unsubscribe = f"/reports/unsubscribe/{subscription.token}/"
    assert unsubscribe in message.body and unsubscribe in html
    assert message.extra_headers["List-Unsubscribe"].endswith(f"{unsubscribe}>")
    listed = next(m for m in mail.outbox if m.to == ["risk@example.org"])
    assert "/reports/unsubscribe/" not in listed.body and "listed recipient" in listed.body


def test_generating_again_sends_nothing_twice(protocol, daily_schedule, django_capture_on_commit_callbacks):
    _generate(daily_schedule, protocol.period, django_capture_on_commit_callbacks)
    _generate(daily_schedule, protocol.period, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    assert ReportDelivery.objects.count() == 2 and ExposureReport.objects.count() == 1


def test_a_failed_send_is_recorded_and_retried_without_regenerating(
    protocol, daily_schedule, django_capture_on_commit_callbacks
):
    daily_schedule.recipients = "risk@example.org"
    daily_schedule.save()
    report = _generate(daily_schedule, protocol.period, django_capture_on_commit_callbacks, send=False)
    delivery = report.deliveries.get()
    assert delivery.status == DeliveryStatus.PENDING

    real_send = EmailMultiAlternatives.send
    calls = []

    def flaky_send(message, *args, **kwargs):
        calls.append(message.to)
        if len(calls) == 1:
            raise SMTPServerDisconnected("Connection unexpectedly closed")
        return real_send(message, *args, **kwargs)

    with (
        mock.patch.object(EmailMultiAlternatives, "send", flaky_send),
        mock.patch("riskgov.reports.services.reports.report_content_build") as rebuilt,
        mock.patch.object(deliver_exposure_report, "retry", wraps=deliver_exposure_report.retry) as retry,
        # the retry policy's jitter at its ceiling, so the wait is the backoff itself
        mock.patch("celery.utils.time.random.randrange", lambda stop: stop - 1),
    ):
        outcome = deliver_exposure_report.apply(kwargs={"delivery_id": delivery.pk})  # eager: retries run inline
    assert outcome.get() == "sent"
    assert retry.call_count == 1 and retry.call_args.kwargs["countdown"] == 30
    rebuilt.assert_not_called()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)
    assert len(mail.outbox) == 1 and ExposureReport.objects.count() == 1 and ReportDelivery.objects.count() == 1


def test_a_send_that_keeps_failing_is_given_up_and_recorded(
    protocol, daily_schedule, django_capture_on_commit_callbacks
):
    daily_schedule.recipients = "risk@example.org"
    daily_schedule.save()
    report = _generate(daily_schedule, protocol.period, django_capture_on_commit_callbacks, send=False)
    delivery = report.deliveries.get()
    with mock.patch.object(EmailMultiAlternatives, "send", side_effect=ConnectionRefusedError("refused")):
        assert deliver_exposure_report.apply(kwargs={"delivery_id": delivery.pk}).get() == "gave_up"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.GAVE_UP
    assert delivery.attempts == 7  # the first try and six retries
    assert "ConnectionRefusedError: refused" in delivery.last_error
