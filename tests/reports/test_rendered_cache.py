"""A report's PDF and CSV are rendered once per report version and served from storage; concurrent first
requests render once; a changed report or a lost file renders again; a render held elsewhere answers 503."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from riskgov.reports.models import ExposureReport, RenderedReportFile
from riskgov.reports.services import rendered
from riskgov.reports.services.reports import exposure_report_generate

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(protocol, daily_schedule, settings, tmp_path: Path) -> ExposureReport:
    settings.MEDIA_ROOT = tmp_path / "media"
    return exposure_report_generate(schedule=daily_schedule, period=protocol.period, requested_by="test").report


@pytest.fixture
def render_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the real renderers' calls (they still render)."""
    calls: list[str] = []
    for fmt, renderer in list(rendered.RENDERERS.items()):

        def counting(report: ExposureReport, _fmt: str = fmt, _render: Callable = renderer) -> bytes:
            calls.append(_fmt)
            time.sleep(0.3)  # long enough for concurrent requests to overlap the first render
            return _render(report)

        monkeypatch.setitem(rendered.RENDERERS, fmt, counting)
    return calls


def _get(client: Client, name: str, report: ExposureReport) -> bytes:
    response = client.get(reverse(name, args=[report.pk]))
    assert response.status_code == 200 and response.streaming
    return response.getvalue()


def test_pdf_and_csv_render_once_per_version(client: Client, report: ExposureReport, render_calls) -> None:
    first_pdf = _get(client, "reports:report-pdf", report)
    assert first_pdf.startswith(b"%PDF")
    assert _get(client, "reports:report-pdf", report) == first_pdf
    first_csv = _get(client, "reports:report-csv", report)
    assert first_csv.decode().startswith("section,scope,metric,value")
    assert _get(client, "reports:report-csv", report) == first_csv
    assert render_calls == ["pdf", "csv"]
    stored = RenderedReportFile.objects.filter(report=report)
    assert sorted(stored.values_list("format", flat=True)) == ["csv", "pdf"]
    assert stored.get(format="pdf").size_bytes == len(first_pdf)

    report.content = {**report.content, "generated_note": "figures corrected"}  # a new version of the report
    report.save(update_fields=["content"])
    assert _get(client, "reports:report-csv", report) == first_csv  # same CSV text, but rendered anew
    assert render_calls == ["pdf", "csv", "csv"]
    assert stored.filter(format="csv").count() == 2


def test_a_file_missing_from_storage_is_rendered_again(client: Client, report: ExposureReport, render_calls) -> None:
    body = _get(client, "reports:report-csv", report)
    row = RenderedReportFile.objects.get(report=report, format="csv")
    row.file.storage.delete(row.file.name)
    assert _get(client, "reports:report-csv", report) == body
    assert render_calls == ["csv", "csv"]
    assert RenderedReportFile.objects.filter(report=report, format="csv").count() == 1


def test_a_render_held_by_another_request_answers_503_with_retry_after(
    client: Client, report: ExposureReport, render_calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rendered, "WAIT_SECONDS", 0.5)
    digest = rendered.report_content_sha256(report)
    lock = f"reports:render:{report.pk}:csv:{digest}"
    assert cache.add(lock, "1", timeout=30)
    try:
        response = client.get(reverse("reports:report-csv", args=[report.pk]))
    finally:
        cache.delete(lock)
    assert response.status_code == 503 and int(response["Retry-After"]) >= 1
    assert b"still being rendered" in response.content
    assert render_calls == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_render_once(report: ExposureReport, render_calls) -> None:
    bodies: list[bytes] = []
    errors: list[BaseException] = []

    def download() -> None:
        try:
            bodies.append(_get(Client(), "reports:report-csv", report))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=download) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [] and len(bodies) == 6
    assert len(set(bodies)) == 1
    assert render_calls == ["csv"]
    assert RenderedReportFile.objects.filter(report=report, format="csv").count() == 1


def test_a_generated_report_is_rendered_on_a_worker_before_its_first_download(
    client: Client, protocol, daily_schedule, settings, tmp_path: Path, render_calls,
    _tasks_stay_off_the_broker, django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    from riskgov.reports.tasks import generate_exposure_report, render_report_files

    settings.MEDIA_ROOT = tmp_path / "media"
    with django_capture_on_commit_callbacks(execute=True):
        report_id = generate_exposure_report(schedule_id=daily_schedule.pk, period=protocol.period.label, deliver=False)
    sent = [(name, kwargs) for name, _, kwargs, _ in _tasks_stay_off_the_broker]
    assert sent == [("riskgov.render_report_files", {"report_id": report_id})]

    stored_names = render_report_files(report_id=report_id)  # what the worker runs
    report = ExposureReport.objects.get(pk=report_id)
    assert render_calls == ["pdf", "csv"] and len(stored_names) == 2
    assert _get(client, "reports:report-pdf", report).startswith(b"%PDF")
    assert _get(client, "reports:report-csv", report).decode().startswith("section,scope,metric,value")
    assert render_calls == ["pdf", "csv"]  # the downloads rendered nothing
    assert render_report_files(report_id=report_id) == stored_names  # a second run keeps the stored files
    assert render_calls == ["pdf", "csv"]
