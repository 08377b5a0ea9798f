"""Creating runs: invalid input gives form errors or a 400 naming the field and enqueues nothing;
valid input freezes inputs (volatility from history, or the reference volatility) and enqueues on commit."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from insurance.models import CoverageChunk, CoverageRun, FundLedgerEntry, InsuranceFund, ParameterSet, RunStatus
from insurance.services import coverage_runs
from insurance.services.coverage_runs import coverage_run_create
from riskgov.core.roles import Role, role_assign
from tests.insurance.conftest import NOW, build_book

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Run ids whose chunks would be sent to the workers."""
    sent: list[int] = []
    monkeypatch.setattr(coverage_runs, "coverage_run_enqueue", lambda *, run_id: sent.append(run_id) or 0)
    return sent


@pytest.fixture
def analyst(client: Client) -> Client:
    """A risk steward: creating coverage runs takes the coverage-runs permission."""
    user = User.objects.create_user("analyst", password="x")
    role_assign(user=user, roles=[Role.RISK_STEWARD])
    client.force_login(user)
    return client


VALID_FORM = {
    "label": "check",
    "model": "gbm",
    "paths": "300",
    "steps": "24",
    "horizon_days": "1",
    "impact": "sqrt",
    "impact_coefficient": "0.01",
    "cascade": "on",
    "liquidation_delay_steps": "0",
    "volatility_window_days": "30",
    "target_exhaustion_probability": "0.01",
    "drift": "0",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"paths": "0"}, "paths"),
        ({"steps": "abc"}, "steps"),
        ({"horizon_days": "-1"}, "horizon_days"),
        ({"model": "heston"}, "model"),
        ({"model": "student_t", "degrees_of_freedom": "1.5"}, "model"),
        ({"parameter_overrides": '{"DOGE": {"mmr": "0.05"}}'}, "parameter_overrides"),
        ({"parameter_overrides": '{"ETH": {"mmr": "0.001"}}'}, "parameter_overrides"),
        ({"parameter_overrides": "{not json"}, "parameter_overrides"),
        ({"parameter_versions": '{"ETH": 9}'}, "parameter_versions"),
        ({"liquidation_delay_steps": "100"}, "liquidation_delay_steps"),
    ],
    ids=lambda value: str(value),
)
def test_invalid_form_shows_the_field_error_and_enqueues_nothing(
    analyst: Client, enqueued: list[int], django_capture_on_commit_callbacks: Any, change: dict[str, str], field: str
) -> None:
    build_book()
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst.post(reverse("insurance:run-new"), {**VALID_FORM, **change})
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert not CoverageRun.objects.exists() and enqueued == []


def test_valid_form_creates_the_run_and_enqueues_it_on_commit(
    analyst: Client, enqueued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    build_book()
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst.post(reverse("insurance:run-new"), VALID_FORM)
    run = CoverageRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("insurance:run-detail", args=[run.pk])
    assert enqueued == [run.pk]
    assert run.requested_by == "analyst" and run.status == RunStatus.QUEUED and run.fund_balance == D("250000")
    assert run.chunk_count == 1 and CoverageChunk.objects.filter(run=run).count() == 1


def test_form_page_shows_defaults_and_volatility_window(analyst: Client) -> None:
    build_book()
    response = analyst.get(reverse("insurance:run-new"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="10000"' in body and "last 30 days" in body
    assert "<td>ETH-USD</td>" in body and "reference" in body  # the stored history ends before today


def test_form_requires_login(client: Client) -> None:
    response = client.post(reverse("insurance:run-new"), VALID_FORM)
    assert response.status_code == 302 and not CoverageRun.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"paths": 0}, "paths"),
        ({"model": "gbm", "model_params": {"volatility": 3}}, "model_params"),
        ({"parameter_overrides": {"ETH": {"imr_typo": "0.1"}}}, "parameter_overrides"),
        ({"parameter_overrides": {"ETH": {"mmr": "abc"}}}, "parameter_overrides"),
        ({"fund": 999999}, "fund"),
        ({"model": "bootstrap", "steps": 96, "horizon_days": "1"}, "steps"),
    ],
    ids=lambda value: str(value),
)
def test_api_rejects_bad_input_with_400_naming_the_field(
    analyst: Client, enqueued: list[int], django_capture_on_commit_callbacks: Any, payload: dict[str, Any], field: str
) -> None:
    build_book()
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst.post(reverse("insurance:api-runs"), payload, content_type="application/json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"].split(".")[0] == field and error["message"] and error["code"], error
    assert not CoverageRun.objects.exists() and enqueued == []


def test_api_refusal_has_the_one_error_shape(analyst: Client, enqueued: list[int]) -> None:
    build_book()
    response = analyst.post(reverse("insurance:api-runs"), {"paths": 0}, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "min_value", "message": "Ensure this value is greater than or equal to 1.", "field": "paths"}
    }
    nested = analyst.post(
        reverse("insurance:api-runs"),
        {"parameter_overrides": {"ETH": {"mmr": "abc"}}},
        content_type="application/json",
    )
    assert nested.status_code == 400 and nested.json()["error"]["field"] == "parameter_overrides.ETH.mmr"
    refused = analyst.post(
        reverse("insurance:api-runs"),
        {"liquidation_delay_steps": 50, "steps": 24, "horizon_days": "1"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "liquidation_delay_steps"
    assert "longer than the horizon" in refused.json()["error"]["message"]
    assert not CoverageRun.objects.exists() and enqueued == []


def test_api_creates_a_run_under_proposed_parameters(
    analyst: Client, enqueued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    build_book()
    payload = {
        "label": "proposal 7",
        "paths": 200,
        "steps": 24,
        "seed": 3,
        "parameter_overrides": {"ETH": {"mmr": "0.04", "liquidation_penalty": "0.012"}},
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst.post(reverse("insurance:api-runs"), payload, content_type="application/json")
    assert response.status_code == 202, response.content
    run = CoverageRun.objects.get(pk=response.json()["id"])
    assert enqueued == [run.pk] and run.parameter_set == ParameterSet.OVERRIDES
    eth = next(m for m in run.market_inputs["markets"] if m["symbol"] == "ETH")
    assert D(eth["mmr"]) == D("0.04") and D(eth["liquidation_penalty"]) == D("0.012")
    assert run.parameter_overrides == {"ETH": {"mmr": "0.04", "liquidation_penalty": "0.012"}}
    assert analyst.get(reverse("insurance:api-run-detail", args=[run.pk])).json()["status"] == "queued"


def test_api_needs_the_coverage_runs_permission_to_create(client: Client) -> None:
    response = client.post(reverse("insurance:api-runs"), {"paths": 10}, content_type="application/json")
    assert response.status_code == 401 and not CoverageRun.objects.exists()
    client.force_login(User.objects.create_user("holder", is_staff=True))
    response = client.post(reverse("insurance:api-runs"), {"paths": 10}, content_type="application/json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert not CoverageRun.objects.exists()


def test_volatility_comes_from_history_or_falls_back_to_the_reference(enqueued: list[int]) -> None:
    build_book(history_hours=24)  # 23 hourly returns: too few
    run = coverage_run_create(label="short", requested_by="t", paths=100, steps=24, seed=1, at=NOW)
    assert {m["volatility_source"] for m in run.market_inputs["markets"]} == {"reference"}
    assert {m["symbol"]: m["volatility"] for m in run.market_inputs["markets"]} == {"BTC": 0.6, "ETH": 0.7}
    assert run.market_inputs["correlation"]["source"].startswith("independent")


def test_history_estimates_are_frozen_with_the_window(enqueued: list[int]) -> None:
    build_book(history_hours=24 * 6)
    run = coverage_run_create(
        label="long", requested_by="t", paths=100, steps=24, seed=1, at=NOW, volatility_window_days=10
    )
    markets = {m["symbol"]: m for m in run.market_inputs["markets"]}
    assert markets["ETH"]["volatility_source"] == "history" and markets["ETH"]["volatility_observations"] == 143
    assert 0.7 < markets["ETH"]["volatility"] < 1.1
    assert run.market_inputs["window"]["days"] == 10
    assert run.inputs_sha256 and run.position_count == 300


def test_service_needs_a_fund_or_a_balance(enqueued: list[int]) -> None:
    build_book()
    FundLedgerEntry.objects.all().delete()
    InsuranceFund.objects.all().delete()
    with pytest.raises(ValidationError) as error:
        coverage_run_create(label="x", requested_by="t", paths=10, steps=4, at=NOW)
    assert "fund" in error.value.message_dict
    run = coverage_run_create(label="x", requested_by="t", paths=10, steps=4, at=NOW, fund_balance=D("5"))
    assert run.fund_balance == D("5") and run.fund is None
