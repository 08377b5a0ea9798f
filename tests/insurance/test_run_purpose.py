"""Run purposes: derived from the inputs at creation, and only baseline runs feed the headline, the coverage
alerts, the report's insurance section and the trend. A what-if run with a tiny fund changes none of them."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client, TestCase
from django.urls import reverse

from insurance.models import CoverageRun, RunPurpose, RunStatus
from insurance.selectors.coverage import coverage_trend, run_latest_baseline
from insurance.services import coverage_runs
from insurance.services.coverage_execution import coverage_run_execute_inline
from insurance.services.coverage_runs import coverage_run_create
from riskgov.core.roles import Role, role_assign
from riskgov.monitoring.models import Alert, AlertKind, AlertRule, AlertState
from riskgov.monitoring.services.monitoring import alerts_evaluate
from riskgov.reports.selectors.reports import insurance_at
from tests.insurance.conftest import NOW, build_book

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)
BASE = {"label": "t", "requested_by": "t", "paths": 400, "steps": 48, "horizon_days": D("4"), "seed": 3, "at": NOW}


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(coverage_runs, "coverage_run_enqueue", lambda *, run_id: sent.append(run_id) or 0)
    return sent


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"purpose": RunPurpose.BASELINE}, RunPurpose.BASELINE),
        ({}, RunPurpose.WHAT_IF),  # no baseline asked for
        ({"fund_balance": D("100000")}, RunPurpose.WHAT_IF),
        ({"parameter_overrides": {"ETH": {"mmr": "0.04"}}}, RunPurpose.WHAT_IF),
        ({"parameter_versions": {"ETH": 1}}, RunPurpose.WHAT_IF),
        ({"model": "student_t"}, RunPurpose.WHAT_IF),
        ({"model_params": {"drift": 0.2}}, RunPurpose.WHAT_IF),
        ({"model": "stress", "model_params": {"scenario": "march_2020"}}, RunPurpose.STRESS),
        ({"purpose": RunPurpose.PROPOSAL_IMPACT}, RunPurpose.PROPOSAL_IMPACT),
        ({"purpose": RunPurpose.PROPOSAL_IMPACT, "parameter_overrides": {"ETH": {"mmr": "0.04"}}}, "proposal_impact"),
    ],
)
def test_purpose_is_derived_from_the_inputs(enqueued: list[int], options: dict[str, Any], expected: str) -> None:
    build_book()
    run = coverage_run_create(**{**BASE, **options})
    assert CoverageRun.objects.get(pk=run.pk).purpose == expected


@pytest.mark.parametrize(
    "options",
    [
        {"fund_balance": D("100000")},
        {"parameter_overrides": {"ETH": {"mmr": "0.04"}}},
        {"model": "merton"},
        {"model": "stress", "model_params": {"scenario": "march_2020"}},
    ],
)
def test_a_run_with_overrides_is_never_a_baseline(enqueued: list[int], options: dict[str, Any]) -> None:
    build_book()
    with pytest.raises(ValidationError) as error:
        coverage_run_create(**{**BASE, **options, "purpose": RunPurpose.BASELINE})
    assert "purpose" in error.value.message_dict and not CoverageRun.objects.exists()


def finished(run: CoverageRun) -> datetime:
    assert run.finished_at is not None
    return run.finished_at


def _run(**options: Any) -> CoverageRun:
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = coverage_run_create(**{**BASE, **options, "enqueue": False})
    run = coverage_run_execute_inline(run=run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def test_a_what_if_run_with_a_tiny_fund_opens_no_alert_and_changes_no_headline(client: Client) -> None:
    build_book()
    baseline = _run(purpose=RunPurpose.BASELINE)
    ratio = baseline.metrics["summary"]["coverage_ratio"]["value"]
    assert ratio is not None  # the book has tail losses, so a smaller fund has a smaller ratio
    # between the what-if's ratio (fund 100K of 250K) and the baseline's: only the what-if would breach it
    AlertRule.objects.create(name="Coverage", kind=AlertKind.COVERAGE_RATIO_BELOW, threshold=D(f"{ratio * 0.6:.6f}"))
    alerts_evaluate()
    assert not Alert.objects.filter(state=AlertState.OPEN).exists()
    home_before = client.get(reverse("insurance:home")).content.decode()
    report_before = insurance_at(at=finished(baseline) + MINUTE)

    what_if = _run(fund_balance=D("100000"), label="tiny fund")
    assert what_if.purpose == RunPurpose.WHAT_IF
    assert what_if.metrics["summary"]["coverage_ratio"]["value"] < ratio * 0.6

    alerts_evaluate()
    assert not Alert.objects.filter(state=AlertState.OPEN).exists()
    assert run_latest_baseline() == baseline
    home = client.get(reverse("insurance:home")).content.decode()
    assert f'href="/insurance/runs/{baseline.pk}/"' in home and "Headline from baseline run" in home
    headline = home[home.index('id="headline-source"') : home.index("Coverage runs")]
    assert f"#{what_if.pk}<" not in headline
    assert (
        home_before[home_before.index("Coverage headline") :].split("</section>")[0]
        == (home[home.index("Coverage headline") :].split("</section>")[0])
    )
    report = insurance_at(at=finished(what_if) + MINUTE)
    assert report is not None and report_before is not None
    assert report.run == baseline and report.headline == report_before.headline
    assert [point.run_id for point in report.trend] == [baseline.pk]

    newer = _run(purpose=RunPurpose.BASELINE, fund=baseline.fund, seed=4)
    assert run_latest_baseline() == newer
    assert [point.run_id for point in coverage_trend()] == [baseline.pk, newer.pk]
    assert insurance_at(at=finished(newer) + MINUTE).run == newer


def test_a_baseline_run_does_open_the_alert() -> None:
    build_book()
    AlertRule.objects.create(name="Coverage", kind=AlertKind.COVERAGE_RATIO_BELOW, threshold=D("1000000"))
    _run(fund_balance=D("100000"))  # what-if: ignored
    alerts_evaluate()
    assert not Alert.objects.filter(state=AlertState.OPEN).exists()
    baseline = _run(purpose=RunPurpose.BASELINE)
    alerts_evaluate()
    [alert] = Alert.objects.filter(state=AlertState.OPEN)
    assert alert.rule.kind == AlertKind.COVERAGE_RATIO_BELOW and f"run #{baseline.pk}" in alert.summary


def test_only_a_risk_steward_starts_a_baseline_from_the_form(client: Client, enqueued: list[int]) -> None:
    build_book()
    form = {
        "label": "check", "model": "gbm", "paths": "300", "steps": "24", "horizon_days": "1", "impact": "sqrt",
        "impact_coefficient": "0.01", "cascade": "on", "liquidation_delay_steps": "0",
        "volatility_window_days": "30", "target_exhaustion_probability": "0.01", "drift": "0", "as_baseline": "on",
    }  # fmt: skip
    client.force_login(User.objects.create_user("analyst", password="x", is_staff=True))
    response = client.post(reverse("insurance:run-new"), form)
    assert response.status_code == 403 and not CoverageRun.objects.exists()  # no run without the permission
    steward = User.objects.create_user("steward", password="x")
    role_assign(user=steward, roles=[Role.RISK_STEWARD])
    client.force_login(steward)
    response = client.post(reverse("insurance:run-new"), form)
    assert response.status_code == 302 and CoverageRun.objects.get().purpose == RunPurpose.BASELINE
    response = client.post(reverse("insurance:run-new"), {**form, "fund_balance": "100000"})
    assert response.status_code == 400 and b"this run overrides fund_balance" in response.content
    api = client.get(reverse("insurance:api-run-detail", args=[CoverageRun.objects.get().pk])).json()
    assert api["purpose"] == "baseline"


def test_the_compare_page_warns_when_runs_are_not_paired(client: Client) -> None:
    build_book()
    a = _run(purpose=RunPurpose.BASELINE)
    b = _run(seed=99, steps=24, horizon_days=D("2"), parameter_overrides={"ETH": {"mmr": "0.04"}})
    page = client.get(reverse("insurance:run-compare"), {"a": a.pk, "b": b.pk}).content.decode()
    assert "Not a paired comparison" in page
    assert "differ in seed" in page and "differ in oracle steps" in page and "differ in horizon" in page
    same = _run(parameter_overrides={"ETH": {"mmr": "0.04"}})
    page = client.get(reverse("insurance:run-compare"), {"a": a.pk, "b": same.pk}).content.decode()
    assert "Not a paired comparison" not in page and "ΔES99" in page and "paired bootstrap" in page
