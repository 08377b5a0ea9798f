"""Reports API: list with the page's filters, one report with its content, and its CSV and PDF files rendered
by the same functions as the page's downloads."""

from __future__ import annotations

import pytest
from django.urls import reverse

from riskgov.core.models import Permission
from riskgov.reports.models import ExposureReport, ReportDelivery
from riskgov.reports.services.render import report_csv
from tests.api.conftest import ApiProtocol, token_client, user_with

pytestmark = pytest.mark.django_db


def test_reports_list_filter_and_link_their_files(client, api_protocol: ApiProtocol):
    report = api_protocol.report
    url = reverse("reports:api-reports")
    body = client.get(url).json()
    assert [r["id"] for r in body["results"]] == [report.pk]
    row = body["results"][0]
    assert row["period_label"] == report.period_label and row["schedule"]["name"] == "Daily protocol report"
    assert row["links"]["pdf"].endswith(reverse("reports:api-report-pdf", kwargs={"report_id": report.pk}))
    assert client.get(url, {"kind": "market_detail"}).json()["count"] == 0
    assert client.get(url, {"date_from": report.period_end.date().isoformat()}).json()["count"] == 0
    assert client.get(url, {"date_to": report.period_start.date().isoformat()}).json()["count"] == 1
    bad = client.get(url, {"schedule": "999999"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "schedule"


def test_a_report_with_its_content(client, api_protocol: ApiProtocol):
    body = client.get(reverse("reports:api-report", kwargs={"report_id": api_protocol.report.pk})).json()
    assert body["content"] == api_protocol.report.content


def test_report_files(client, api_protocol: ApiProtocol):
    report = api_protocol.report
    csv = client.get(reverse("reports:api-report-csv", kwargs={"report_id": report.pk}))
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert csv.getvalue().decode() == report_csv(ExposureReport.objects.get(pk=report.pk))  # as stored
    pdf = client.get(reverse("reports:api-report-pdf", kwargs={"report_id": report.pk}), HTTP_ACCEPT="application/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.getvalue().startswith(b"%PDF")
    missing = client.get(reverse("reports:api-report-pdf", kwargs={"report_id": 999999}), HTTP_ACCEPT="application/pdf")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_deliveries_are_staff_data(client, api_protocol: ApiProtocol, plain_user):
    report = api_protocol.report
    ReportDelivery.objects.create(report=report, recipient="risk@example.org")
    url = reverse("reports:api-report-deliveries", kwargs={"report_id": report.pk})
    assert client.get(url).status_code == 401
    assert token_client(plain_user).get(url).status_code == 403
    staff = token_client(user_with("staff", Permission.VIEW_STAFF_PAGES))
    body = staff.get(url).json()
    assert [row["recipient"] for row in body["results"]] == ["risk@example.org"]
    assert staff.get(reverse("reports:api-report-deliveries", kwargs={"report_id": 999999})).status_code == 404
