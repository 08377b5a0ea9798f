"""Report pages: list and filters, report page, downloads, staff "Generate now", subscribe and unsubscribe."""

import json
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule

from riskgov.core.models import AuditRecord
from riskgov.core.roles import Role, role_assign
from riskgov.reports.domain.periods import ReportPeriod
from riskgov.reports.models import DeliveryStatus, ExposureReport, ReportDelivery, ReportSchedule, ReportSubscription
from riskgov.reports.services.reports import exposure_report_generate, report_subscription_create
from riskgov.reports.tasks import generate_exposure_report
from tests.factories import MarketFactory

pytestmark = pytest.mark.django_db

REPORT_LIST_QUERIES = 3  # count, the page of reports with their schedule and e-mail counts, the schedule filter
# session, user, the user's permissions (own and groups'), schedules with counts, their markets, their
# subscriptions, the form
SCHEDULES_PAGE_QUERIES = 8


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_user("steward", password="pw-steward")
    role_assign(user=user, roles=[Role.REPORT_MANAGER])
    client.force_login(user)
    return client


@pytest.fixture
def reports(protocol, daily_schedule) -> list[ExposureReport]:
    empty: ReportPeriod = protocol.period.previous().previous()
    return [
        exposure_report_generate(schedule=daily_schedule, period=period, requested_by="test").report
        for period in (protocol.period, empty)
    ]


def test_list_filters_by_schedule_kind_and_dates(client, reports, daily_schedule, weekly_schedule):
    page = client.get(reverse("reports:report-list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert all(r.period_label in html for r in reports) and "no data" in html
    newest, oldest = reports
    by_date = client.get(reverse("reports:report-list"), {"date_from": newest.period_label}).content.decode()
    assert newest.period_label in by_date and oldest.period_label not in by_date
    by_day = client.get(reverse("reports:report-list"), {"date_to": oldest.period_label}).content.decode()
    assert oldest.period_label in by_day and f">{newest.period_label}<" not in by_day
    weekly = client.get(reverse("reports:report-list"), {"schedule": weekly_schedule.pk}).content.decode()
    assert "No report matches" in weekly
    detail_kind = client.get(reverse("reports:report-list"), {"kind": "market_detail"}).content.decode()
    assert "No report matches" in detail_kind
    fragment = client.get(reverse("reports:report-list"), {"kind": "protocol"}, headers={"HX-Request": "true"})
    assert fragment.content.decode().startswith('<div id="report-rows">')


def test_report_page_and_downloads(client, reports, protocol):
    report = reports[0]
    page = client.get(reverse("reports:report-detail", args=[report.pk])).content.decode()
    assert report.html in page and "E-mail deliveries" not in page  # deliveries are for staff only
    csv_response = client.get(reverse("reports:report-csv", args=[report.pk]))
    assert csv_response["Content-Type"].startswith("text/csv")
    assert csv_response.getvalue().decode().startswith("section,scope,metric,value")
    data = json.loads(client.get(reverse("reports:report-json", args=[report.pk])).content)
    assert data["headline"]["oi_long"] == report.content["headline"]["oi_long"]
    pdf = client.get(reverse("reports:report-pdf", args=[report.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.getvalue().startswith(b"%PDF")
    assert f'filename="exposure-report-daily-protocol-report-{report.period_label}.pdf"' in pdf["Content-Disposition"]
    assert client.get(reverse("reports:report-detail", args=[report.pk + 100])).status_code == 404


def test_generate_now_is_staff_only_and_enqueued_on_commit(
    client, staff_client, daily_schedule, django_capture_on_commit_callbacks
):
    anonymous = client.__class__().post(reverse("reports:generate"), {"schedule": daily_schedule.pk})
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    with (
        mock.patch.object(generate_exposure_report, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = staff_client.post(
            reverse("reports:generate"), {"schedule": daily_schedule.pk, "period": "2026-11-20"}
        )
    assert response.status_code == 302 and len(callbacks) == 1
    delay.assert_called_once_with(
        schedule_id=daily_schedule.pk, period="2026-11-20", requested_by="steward", on_demand=True
    )
    bad = staff_client.post(
        reverse("reports:generate"), {"schedule": daily_schedule.pk, "period": "2026-W47"}, follow=True
    )
    assert "is a week" in bad.content.decode()


def test_generate_now_form_has_no_empty_schedule_choice(staff_client, daily_schedule, weekly_schedule):
    page = staff_client.get(reverse("reports:report-list")).content.decode()
    generate = page[page.index('action="/reports/generate/"') :]
    assert "---------" not in generate
    first = min((daily_schedule, weekly_schedule), key=lambda schedule: schedule.name)
    assert generate.index("<option") == generate.index(f'<option value="{first.pk}"')


@pytest.mark.parametrize("period", ["today", "tomorrow"])
def test_generate_now_refuses_a_period_that_has_not_ended_at_once(
    staff_client, daily_schedule, django_capture_on_commit_callbacks, period
):
    day = datetime.now(UTC).date() + (timedelta(days=1) if period == "tomorrow" else timedelta(0))
    with (
        mock.patch.object(generate_exposure_report, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = staff_client.post(
            reverse("reports:generate"), {"schedule": daily_schedule.pk, "period": day.isoformat()}, follow=True
        )
    page = response.content.decode()
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    assert f"The period {day.isoformat()} has not ended yet; the last complete one is {yesterday}." in page
    assert "queued; it appears here" not in page
    assert callbacks == [] and not delay.called
    assert not ExposureReport.objects.filter(schedule=daily_schedule).exists()


def test_staff_or_holders_subscribe_and_anyone_with_the_link_unsubscribes(client, staff_client, daily_schedule):
    response = staff_client.post(
        reverse("reports:subscribe"), {"schedule": daily_schedule.pk, "email": "Ops@Example.org"}, follow=True
    )
    assert "ops@example.org receives" in response.content.decode()
    subscription = ReportSubscription.objects.get(email="ops@example.org")
    assert subscription.created_by == "steward"
    assert (
        client.__class__()
        .post(reverse("reports:subscribe"), {"schedule": daily_schedule.pk, "email": "x@example.org"})
        .status_code
        == 302
    )
    assert not ReportSubscription.objects.filter(email="x@example.org").exists()  # neither staff nor holder

    holder = client.__class__()
    session = holder.session
    session["siwe_address"] = "0x1111111111111111111111111111111111111111"
    session.save()
    assert "Subscribe an address" in holder.get(reverse("reports:schedules")).content.decode()
    holder.post(reverse("reports:subscribe"), {"schedule": daily_schedule.pk, "email": "holder@example.org"})
    assert ReportSubscription.objects.get(email="holder@example.org").created_by == session["siwe_address"]

    anonymous = client.__class__()
    link = reverse("reports:unsubscribe", args=[subscription.token])
    confirm = anonymous.get(link)
    assert confirm.status_code == 200 and "Stop receiving" in confirm.content.decode()
    assert ReportSubscription.objects.filter(pk=subscription.pk).exists()  # a GET (a link preview) changes nothing
    done = anonymous.post(link)
    assert done.status_code == 200 and "no longer receives" in done.content.decode()
    assert not ReportSubscription.objects.filter(pk=subscription.pk).exists()
    assert AuditRecord.objects.filter(action="report_subscription.deleted").exists()
    assert anonymous.post(link).status_code == 404
    assert anonymous.get(reverse("reports:unsubscribe", args=["not-a-token"])).status_code == 404


def test_subscribing_twice_keeps_one_subscription(daily_schedule):
    first = report_subscription_create(schedule=daily_schedule, email="a@example.org", created_by="test")
    again = report_subscription_create(schedule=daily_schedule, email="A@example.org", created_by="test")
    assert first.pk == again.pk and ReportSubscription.objects.count() == 1


def test_schedules_page_lists_schedules_and_staff_sees_subscribers(client, staff_client, daily_schedule):
    report_subscription_create(schedule=daily_schedule, email="a@example.org", created_by="test")
    public = client.__class__().get(reverse("reports:schedules")).content.decode()
    assert "Daily protocol report" in public and "Weekly market detail" in public and "a@example.org" not in public
    staff = staff_client.get(reverse("reports:schedules")).content.decode()
    assert "a@example.org" in staff


def test_command_generates_and_sends(protocol, daily_schedule, capsys):
    from django.core import mail
    from django.core.management import call_command

    call_command("exposure_report", schedule=str(daily_schedule.pk), period=protocol.period.label)
    out = capsys.readouterr().out
    assert f"{protocol.period.label}: generated" in out and "sent to dao@example.org" in out
    assert len(mail.outbox) == 2
    call_command("exposure_report", schedule=daily_schedule.name, period=protocol.period.label)
    assert "already stored" in capsys.readouterr().out and len(mail.outbox) == 2


# ------------------------------------------------------------ query counts on the list pages


def _stored_reports(schedule: ReportSchedule, count: int) -> None:
    """`count` daily reports of `schedule` ending before any real one, each with a sent and a pending e-mail."""
    first = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=ExposureReport.objects.filter(schedule=schedule).count())
    for day in range(count):
        start = first + timedelta(days=day)
        report = ExposureReport.objects.create(
            schedule=schedule,
            kind=schedule.kind,
            period_start=start,
            period_end=start + timedelta(days=1),
            period_label=f"{start:%Y-%m-%d}",
            content={},
            html="",
            requested_by="test",
        )
        ReportDelivery.objects.create(report=report, recipient="a@example.org", status=DeliveryStatus.SENT)
        ReportDelivery.objects.create(report=report, recipient="b@example.org")


def _schedules_with_subscribers(count: int) -> None:
    crontab = CrontabSchedule.objects.create(minute="5", hour="6")
    markets = [MarketFactory(), MarketFactory()]
    start = ReportSchedule.objects.count()
    for index in range(start, start + count):
        schedule = ReportSchedule.objects.create(name=f"Schedule {index}", crontab=crontab)
        schedule.markets.set(markets)
        for who in ("a", "b"):
            report_subscription_create(schedule=schedule, email=f"{who}{index}@example.org", created_by="test")


def test_report_list_queries_do_not_grow_with_rows(client, daily_schedule, weekly_schedule, django_assert_num_queries):
    _stored_reports(daily_schedule, 2)
    with django_assert_num_queries(REPORT_LIST_QUERIES):
        client.get(reverse("reports:report-list"))
    _stored_reports(weekly_schedule, 6)
    with django_assert_num_queries(REPORT_LIST_QUERIES):
        page = client.get(reverse("reports:report-list")).content.decode()
    assert page.count("1 / 2") == 8  # each row: one of its two e-mails sent


def test_schedules_page_queries_do_not_grow_with_schedules_or_subscribers(
    staff_client, daily_schedule, django_assert_num_queries
):
    _schedules_with_subscribers(2)
    with django_assert_num_queries(SCHEDULES_PAGE_QUERIES):
        staff_client.get(reverse("reports:schedules"))
    _schedules_with_subscribers(5)
    with django_assert_num_queries(SCHEDULES_PAGE_QUERIES):
        page = staff_client.get(reverse("reports:schedules")).content.decode()
    assert all(f"a{index}@example.org" in page and f"b{index}@example.org" in page for index in range(2, 9))
