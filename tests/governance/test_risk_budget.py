"""Risk-budget guardrails: a budgeted market's change waits for a paired-run attestation and is decided by it.

Unit tests: the paired runs are simulated in this process (`coverage_run_execute_inline`, the workers' code);
the worker path is in test_risk_budget_worker.py.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal as D
from statistics import NormalDist
from unittest import mock

import numpy as np
import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from insurance.engine.metrics import expected_shortfall
from insurance.models import AttestationStatus, CoverageRun, FundLedgerEntry, InsuranceFund, RiskAttestation
from insurance.services.coverage_execution import coverage_run_execute_inline
from insurance.services.coverage_files import arrays_read
from riskgov.core import dispatch
from riskgov.core.models import AuditAction, AuditRecord
from riskgov.core.models.versions import ChangeSource
from riskgov.governance.models import Proposal, ProposalChangeRequest, ProposalState, Vote
from riskgov.governance.services.execution import ExecutionFailed, proposal_execute
from riskgov.governance.services.risk_budget import (
    EXECUTE_TASK,
    parameter_change_attest,
    parameter_changes_resend,
    proposal_risk_budget_gate,
)
from riskgov.markets.models import ChangeRequestStatus, MarginParameters, Market, ParameterChangeRequest, RiskBudget
from riskgov.markets.services.guardrails import GuardrailError
from riskgov.markets.services.parameters import margin_parameters_change
from riskgov.markets.services.risk_budget import ATTEST_TASK, parameter_change_request
from riskgov.monitoring.models import MarginRecommendation, RecommendationStatus
from riskgov.monitoring.tasks import recommend_margins
from tests.governance.conftest import T0, WAD, make_proposal
from tests.insurance.conftest import NOW, build_book
from tests.monitoring.conftest import make_market
from tests.monitoring.test_automation_asymmetry import add_random_prices, auto

pytestmark = pytest.mark.django_db

# Loosening ETH's margins (imr 5 % → 4 %, mmr 3 % → 2.25 %) lets positions run deeper before liquidation.
LOOSEN = {"imr": D("0.04"), "mmr": D("0.0225"), "max_leverage": D("25")}
TIGHTEN = {"mmr": D("0.035")}


def _budget(market: Market, **values: object) -> RiskBudget:
    defaults: dict[str, object] = {
        "max_exhaustion_increase": D("1"),
        "max_es99_increase": D("1000000000"),
        "confidence": D("0.95"),
        "paths": 120,
        "steps": 12,
        "horizon_days": D("2"),
        "max_age_minutes": 60,
    }
    return RiskBudget.objects.create(market=market, **(defaults | values))


@pytest.fixture
def eth() -> Market:
    build_book(positions=90, history_hours=24 * 3)
    return Market.objects.get(symbol="ETH")


def _run_pair(request: ParameterChangeRequest, capture) -> ParameterChangeRequest:
    """The workers' steps in this process: start the pair, simulate both runs, decide."""
    with capture(execute=True):
        started = parameter_change_attest(request_id=request.pk)
    assert started.status == ChangeRequestStatus.AWAITING_ATTESTATION
    attestation = RiskAttestation.objects.get(change_request=request)
    for run in (attestation.coverage_current, attestation.coverage_proposed):
        coverage_run_execute_inline(run=CoverageRun.objects.get(pk=run.pk))
    with capture(execute=True):
        return parameter_change_attest(request_id=request.pk)


def _request(market: Market, changes: dict[str, D], source: str = ChangeSource.ADMIN) -> ParameterChangeRequest:
    return parameter_change_request(market=market, changes=changes, source=source, reason="test", actor="steward")


@time_machine.travel(NOW, tick=False)
def test_a_budgeted_market_refuses_a_change_without_an_attestation(eth):
    _budget(eth)
    with pytest.raises(GuardrailError) as refused:
        margin_parameters_change(market=eth, changes=TIGHTEN, source=ChangeSource.ADMIN, reason="x", actor="a")
    assert [v.rule for v in refused.value.violations] == ["risk_budget"]
    assert "paired-run attestation" in str(refused.value)
    assert MarginParameters.objects.filter(market=eth).count() == 1


@time_machine.travel(NOW, tick=False)
def test_a_static_rule_is_refused_inside_the_request_and_nothing_is_queued(eth, _tasks_stay_off_the_broker):
    _budget(eth)
    with pytest.raises(GuardrailError) as refused:
        _request(eth, {"mmr": D("0.06")})  # above imr
    assert "rate_order" in str(refused.value)
    assert not ParameterChangeRequest.objects.exists() and not _tasks_stay_off_the_broker


@time_machine.travel(NOW, tick=False)
def test_within_budget_change_is_applied_with_its_attestation(eth, django_capture_on_commit_callbacks):
    _budget(eth)
    with django_capture_on_commit_callbacks() as sent:
        request = _request(eth, TIGHTEN)
    assert len(sent) == 1 and not CoverageRun.objects.exists()  # queued for the workers, nothing simulated yet

    decided = _run_pair(request, django_capture_on_commit_callbacks)

    assert decided.status == ChangeRequestStatus.APPLIED, decided.refusal
    version = decided.version
    assert (version.version, version.mmr, version.source) == (2, D("0.035"), ChangeSource.ADMIN)
    attestation = RiskAttestation.objects.get(change_request=request)
    record = decided.attestation
    assert record["within_budget"] is True and record["status"] == AttestationStatus.WITHIN_BUDGET
    assert record["runs"] == {"current": attestation.coverage_current_id, "proposed": attestation.coverage_proposed_id}
    assert len(record["inputs_sha256"]) == 64 and record["paths"] == 120 and record["at"]
    audit = AuditRecord.objects.get(action=AuditAction.PARAMETERS_CHANGED, subject_id=str(version.pk))
    assert audit.data["attestation"]["inputs_sha256"] == record["inputs_sha256"]
    assert AuditRecord.objects.filter(action=AuditAction.PARAMETER_CHANGE_ATTESTED, subject_id=str(request.pk)).exists()


def _independent_bounds(attestation: RiskAttestation) -> tuple[float, float, float]:
    """ΔP(exhausted) mean and CLT upper bound, and ΔES99 point value, from the stored per-path results."""
    a = arrays_read(attestation.coverage_current.results_file, attestation.coverage_current.results_sha256, what="a")
    b = arrays_read(attestation.coverage_proposed.results_file, attestation.coverage_proposed.results_sha256, what="b")
    d = b["exhausted"].astype(float) - a["exhausted"].astype(float)
    z = NormalDist().inv_cdf(0.5 + float(attestation.confidence) / 2)
    mean = float(np.mean(d))
    upper = mean + z * float(np.std(d, ddof=1)) / math.sqrt(len(d))
    loss_a, loss_b = a["bad_debt_by_market"].sum(axis=1), b["bad_debt_by_market"].sum(axis=1)
    es = float(expected_shortfall(np.sort(loss_b), 0.99) - expected_shortfall(np.sort(loss_a), 0.99))
    return mean, upper, es


def _tail_es99(losses: np.ndarray) -> float:
    """ES99 by its definition on a sorted sample: the mean of the worst 1 % of paths (with a fractional path)."""
    ordered = np.sort(losses)[::-1]
    tail = 0.01 * len(ordered)
    whole = math.floor(tail)
    return float((ordered[:whole].sum() + (tail - whole) * (ordered[whole] if whole < len(ordered) else 0)) / tail)


@time_machine.travel(NOW, tick=False)
def test_over_budget_change_is_refused_with_the_reason_and_the_bounds_are_the_paired_ones(
    eth, django_capture_on_commit_callbacks
):
    _budget(eth, max_exhaustion_increase=D("0"), max_es99_increase=D("0"), paths=200)
    request = _request(eth, LOOSEN)

    decided = _run_pair(request, django_capture_on_commit_callbacks)

    assert decided.status == ChangeRequestStatus.REFUSED
    assert decided.version is None and MarginParameters.objects.filter(market=eth).count() == 1
    attestation = RiskAttestation.objects.get(change_request=request)
    assert attestation.status == AttestationStatus.OVER_BUDGET
    assert decided.refusal.startswith("over its risk budget: ")
    assert "upper bound of" in decided.refusal and "above the budget of 0." in decided.refusal
    mean, upper, es = _independent_bounds(attestation)
    assert float(attestation.exhaustion_delta) == pytest.approx(mean, abs=1e-8)
    assert float(attestation.exhaustion_upper) == pytest.approx(upper, abs=1e-8)
    assert float(attestation.es99_delta) == pytest.approx(es, abs=1e-5)
    a = arrays_read(attestation.coverage_current.results_file, attestation.coverage_current.results_sha256, what="a")
    b = arrays_read(attestation.coverage_proposed.results_file, attestation.coverage_proposed.results_sha256, what="b")
    closed_form = _tail_es99(b["bad_debt_by_market"].sum(axis=1)) - _tail_es99(a["bad_debt_by_market"].sum(axis=1))
    assert float(attestation.es99_delta) == pytest.approx(closed_form, rel=1e-9, abs=1e-5)
    assert float(attestation.es99_upper) >= float(attestation.es99_delta)
    assert float(attestation.es99_upper) > 0 or float(attestation.exhaustion_upper) > 0  # what refused it
    refused = AuditRecord.objects.get(action=AuditAction.PARAMETER_CHANGE_REFUSED, subject_id=str(request.pk))
    assert refused.data["attestation"]["result"]["es99_upper"] == str(attestation.es99_upper.normalize())


@time_machine.travel(NOW, tick=False)
def test_automatic_change_with_a_failed_attestation_is_refused(eth, django_capture_on_commit_callbacks):
    _budget(eth)
    request = _request(eth, TIGHTEN, source=ChangeSource.POLICY)
    FundLedgerEntry.objects.all().delete()
    InsuranceFund.objects.all().delete()  # no fund: the paired run cannot start

    with django_capture_on_commit_callbacks(execute=True):
        decided = parameter_change_attest(request_id=request.pk)

    assert decided.status == ChangeRequestStatus.REFUSED
    assert "not attested: The paired run could not start: fund: There is no insurance fund" in decided.refusal
    assert MarginParameters.objects.filter(market=eth).count() == 1


@time_machine.travel(NOW, tick=False)
def test_a_change_of_the_parameters_meanwhile_refuses_the_waiting_request(eth, django_capture_on_commit_callbacks):
    _budget(eth)
    request = _request(eth, TIGHTEN)
    RiskBudget.objects.filter(market=eth).update(enabled=False)
    margin_parameters_change(
        market=eth, changes={"mmr": D("0.032")}, source=ChangeSource.PROPOSAL, reason="p", actor="p"
    )
    RiskBudget.objects.filter(market=eth).update(enabled=True)

    decided = parameter_change_attest(request_id=request.pk)

    assert decided.status == ChangeRequestStatus.REFUSED
    assert "changed while the change waited (requested against v1)" in decided.refusal


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("steward", password="pw"))
    return client


def _form(market: Market, **changes: str) -> dict[str, str]:
    current = MarginParameters.objects.filter(market=market).latest("version")
    data = {name: "" if value is None else str(value) for name, value in current.values().items()}
    return data | changes | {"reason": "tighten ahead of the weekend", "market": str(market.pk)}


@time_machine.travel(NOW, tick=False)
def test_admin_change_waits_for_the_workers_and_shows_its_attestation(
    eth, staff_client, django_capture_on_commit_callbacks, _tasks_stay_off_the_broker
):
    _budget(eth)
    url = f"{reverse('admin:markets_marginparameters_add')}?market={eth.pk}"
    page = staff_client.get(url).content.decode()
    assert "allowed now" in page and "Risk budget" in page

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, _form(eth, mmr="0.035"))

    request = ParameterChangeRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:markets_parameterchangerequest_change", args=[request.pk])
    assert request.status == ChangeRequestStatus.AWAITING_ATTESTATION
    assert not any("insurance_coveragerun" in q["sql"] for q in queries.captured_queries)  # never simulated inline
    assert [name for name, *_ in _tasks_stay_off_the_broker] == [ATTEST_TASK]
    waiting = staff_client.get(response["Location"]).content.decode()
    assert "Awaiting attestation" in waiting and "0%" in waiting

    decided = _run_pair(request, django_capture_on_commit_callbacks)

    assert decided.status == ChangeRequestStatus.APPLIED, decided.refusal
    shown = staff_client.get(response["Location"]).content.decode()
    assert decided.attestation["inputs_sha256"] in shown and "within_budget" in shown
    assert f"current: {decided.attestation['runs']['current']}" in shown
    attestation_admin = reverse("admin:insurance_riskattestation_change", args=[decided.risk_attestation.pk])
    assert decided.attestation["inputs_sha256"] in staff_client.get(attestation_admin).content.decode()
    audit_admin = staff_client.get(reverse("admin:core_auditrecord_changelist")).content.decode()
    assert "parameter change attested by a paired run" in audit_admin


def test_proposal_execution_waits_for_its_attestation_and_the_page_shows_it(
    eth, chain, holders, gov_settings, client, django_capture_on_commit_callbacks
):
    _budget(eth)
    with time_machine.travel(T0, tick=False):
        proposal = make_proposal(chain, holders[0])  # ETH mmr 3 % → 3.5 %
    Vote.objects.create(proposal=proposal, voter=holders[1].address, support=1, weight=D(900_000 * WAD),
                        nonce=0, signature="0x00")  # fmt: skip
    end = proposal.voting_ends_at
    Proposal.objects.filter(pk=proposal.pk).update(queued_at=end, state=ProposalState.QUEUED)
    eta = end + timedelta(seconds=gov_settings.timelock_seconds)

    with time_machine.travel(eta, tick=False), pytest.raises(ExecutionFailed) as waiting:
        proposal_execute(proposal_id=proposal.pk)

    assert waiting.value.code == "risk_budget"
    link = ProposalChangeRequest.objects.get(proposal=proposal)
    request = link.change_request
    assert (request.source, request.proposal_ref, request.changes) == ("proposal", str(proposal.pk), {"mmr": "0.035"})
    proposal.refresh_from_db()
    assert "risk-budget attestation started" in proposal.execution_error

    with time_machine.travel(NOW, tick=False), mock.patch.object(dispatch, "send") as sent:
        decided = _run_pair(request, django_capture_on_commit_callbacks)
    assert decided.status == ChangeRequestStatus.ATTESTED  # the execution writes it, not the worker
    assert MarginParameters.objects.filter(market=eth).count() == 1
    assert mock.call(EXECUTE_TASK, proposal_id=proposal.pk) in sent.call_args_list

    page = client.get(reverse("governance:proposal-detail", args=[proposal.pk])).content.decode()
    assert "Risk budget" in page and decided.attestation["inputs_sha256"] in page
    assert "Within budget" in page

    # the execution may use it while it is fresh; once expired, it is refused and a new attestation starts
    fresh = NOW + timedelta(minutes=30)
    assert proposal_risk_budget_gate(proposal=proposal, market=eth, changes=TIGHTEN, now=fresh) == (decided, "")
    later = NOW + timedelta(minutes=61)
    with django_capture_on_commit_callbacks():
        gate = proposal_risk_budget_gate(proposal=proposal, market=eth, changes=TIGHTEN, now=later)
    decided.refresh_from_db()
    assert decided.status == ChangeRequestStatus.REFUSED and "has expired (valid 60 min)" in decided.refusal
    assert gate[0] is None and "attestation started" in gate[1]
    assert ProposalChangeRequest.objects.filter(proposal=proposal).count() == 2


def test_the_recommenders_automatic_change_waits_and_is_refused_when_its_attestation_fails(
    django_capture_on_commit_callbacks,
):
    market = auto("TGT")
    add_random_prices(market, np.full(24 * 30, 0.0016), seed=5)  # IMR ≈ 2.3 %: a tightening inside the bounds
    _budget(market)

    with django_capture_on_commit_callbacks() as sent:
        ids = recommend_margins.apply().get()

    recommendation = MarginRecommendation.objects.get(pk=ids[0])
    assert recommendation.evidence["direction"] == "tighten" and recommendation.status == RecommendationStatus.PENDING
    request = ParameterChangeRequest.objects.get(pk=recommendation.evidence["risk_budget_request"])
    assert (request.source, request.status) == (ChangeSource.POLICY, ChangeRequestStatus.AWAITING_ATTESTATION)
    assert MarginParameters.objects.filter(market=market).count() == 1  # nothing applied before the attestation
    assert len(sent) == 1

    with django_capture_on_commit_callbacks(execute=True):
        decided = parameter_change_attest(request_id=request.pk)  # no insurance fund: the pair cannot start

    assert decided.status == ChangeRequestStatus.REFUSED and "There is no insurance fund" in decided.refusal
    assert MarginParameters.objects.filter(market=market).count() == 1


def test_a_steward_applying_a_recommendation_of_a_budgeted_market_gets_a_waiting_change(
    staff_client, django_capture_on_commit_callbacks
):
    market = make_market("MAN", coefficient_a=D("1"), horizon_hours=8, mmr_ratio=D("0.5"))  # not automatic
    add_random_prices(market, np.full(24 * 30, 0.0016), seed=5)
    _budget(market)
    recommendation = MarginRecommendation.objects.get(pk=recommend_margins.apply().get()[0])
    assert recommendation.status == RecommendationStatus.PENDING

    with django_capture_on_commit_callbacks() as sent:
        response = staff_client.post(reverse("monitoring:recommendation-apply", args=[recommendation.pk]), follow=True)

    request = ParameterChangeRequest.objects.get(market=market)
    assert (request.source, request.status) == (ChangeSource.ADMIN, ChangeRequestStatus.AWAITING_ATTESTATION)
    assert f"change request #{request.pk} waits for its risk-budget attestation" in response.content.decode()
    assert MarginParameters.objects.filter(market=market).count() == 1 and len(sent) == 1
    recommendation.refresh_from_db()
    assert recommendation.evidence["risk_budget_request"] == request.pk


@time_machine.travel(NOW, tick=False)
def test_the_tick_resends_a_waiting_change_no_step_polled_recently(eth, django_capture_on_commit_callbacks):
    _budget(eth)
    lost = _request(eth, TIGHTEN)
    polled = _request(eth, {"mmr": D("0.034")})
    ParameterChangeRequest.objects.update(created_at=NOW - timedelta(minutes=10))
    ParameterChangeRequest.objects.filter(pk=polled.pk).update(polled_at=NOW - timedelta(seconds=30))

    with mock.patch.object(dispatch, "send") as sent, django_capture_on_commit_callbacks(execute=True):
        assert parameter_changes_resend(now=NOW) == [lost.pk]

    assert sent.call_args_list == [mock.call(ATTEST_TASK, request_id=lost.pk)]
