"""The exposure report's stress table: per scenario the latest stress run that succeeded before the period end,
naming the run and its age, in the HTML, the CSV and the PDF; baseline figures never come from a stress run."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.test import TestCase

from insurance.models import CoverageRun, PriceModelKind, RunPurpose, RunStatus
from insurance.services.coverage_execution import coverage_run_execute_inline
from insurance.services.coverage_runs import coverage_run_create
from riskgov.reports.models import ReportSchedule
from riskgov.reports.services.render import report_csv, report_document_render, report_pdf
from riskgov.reports.services.reports import exposure_report_generate, report_email_build
from tests.reports.conftest import Protocol, coverage_metrics

pytestmark = pytest.mark.django_db


def stress_run(scenario: str, *, paths: int = 2) -> CoverageRun:
    """A real stress run of a library scenario on the fixture's book, simulated in this process."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = coverage_run_create(
            label=f"Stress {scenario}",
            requested_by="test",
            model=PriceModelKind.STRESS,
            model_params={"scenario": scenario},
            paths=paths,
            steps=24,
            horizon_days=D("1"),
            seed=3,
            enqueue=False,
        )
    run = coverage_run_execute_inline(run=run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def test_the_report_carries_the_latest_stress_result_per_scenario(
    protocol: Protocol, daily_schedule: ReportSchedule
) -> None:
    period = protocol.period
    real = stress_run("october_2025")
    CoverageRun.objects.filter(pk=real.pk).update(finished_at=period.start + timedelta(hours=3))
    older = CoverageRun.objects.create(
        label="older", purpose=RunPurpose.STRESS, model=PriceModelKind.STRESS,
        model_params={"scenario": "october_2025"}, requested_by="t", fund_balance=D("1"), paths=1, steps=1,
        horizon_days=D("1"), impact_coefficient=D("0"), seed=1, chunk_size=1, engine_version="t",
        status=RunStatus.SUCCEEDED, finished_at=period.start + timedelta(hours=1),
        metrics=coverage_metrics(coverage_ratio=1.0, exhaustion=0.5, fund_balance=1.0),
    )  # fmt: skip
    after_the_period = CoverageRun.objects.get(pk=older.pk)
    after_the_period.pk, after_the_period.finished_at = None, period.end + timedelta(hours=1)
    after_the_period.save()
    real.refresh_from_db()

    report = exposure_report_generate(schedule=daily_schedule, period=period, requested_by="test").report
    rows = report.content["stress"]
    assert [row["scenario"] for row in rows] == ["october_2025"]
    row = rows[0]
    summary = real.metrics["summary"]
    assert (row["run_id"], row["age_hours"], row["paths"]) == (real.pk, pytest.approx(21.0), 2)
    assert row["mean_bad_debt"] == summary["mean_bad_debt"]["value"]
    assert row["exhaustion_probability"] == summary["exhaustion_probability"]["value"]
    assert row["fund_balance"] == float(real.fund_balance) and row["name"] == "10 October 2025 (tariff crash)"
    assert report.content["insurance"]["run"]["id"] == protocol.run.pk  # the baseline headline is untouched

    assert "Stress table" in report.html and f"#{real.pk}</a>" in report.html
    assert "(21 h before the period end)" in report.html
    table = list(csv.reader(io.StringIO(report_csv(report))))
    stress = {metric: value for section, scope, metric, value in table if section == "stress"}
    assert stress["run_id"] == str(real.pk) and float(stress["age_hours"]) == pytest.approx(21.0)
    assert float(stress["mean_bad_debt"]) == pytest.approx(summary["mean_bad_debt"]["value"])
    assert {scope for section, scope, *_ in table if section == "stress"} == {"october_2025"}
    assert report_pdf(report).startswith(b"%PDF")
    mail = report_email_build(report=report, recipient="risk@example.org")
    assert f"10 October 2025 (tariff crash): run #{real.pk} (" in mail.body
    assert "21 h before the period end" in mail.body


def test_a_report_without_stress_runs_says_so_and_older_reports_render_without_the_section(
    protocol: Protocol, daily_schedule: ReportSchedule
) -> None:
    report = exposure_report_generate(schedule=daily_schedule, period=protocol.period, requested_by="test").report
    assert report.content["stress"] == []
    assert "No stress run had succeeded by the end of the period." in report.html
    earlier = {key: value for key, value in report.content.items() if key != "stress"}  # stored before the table
    assert "Stress table" not in report_document_render(content=earlier, charts={})
