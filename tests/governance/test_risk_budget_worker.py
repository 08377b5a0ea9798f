"""Risk budget end to end on a real Celery worker: the admin's change returns at once, the worker runs the paired
simulation and applies the change because it stays inside the market's budget."""

from __future__ import annotations

import time
from decimal import Decimal as D

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from insurance.models import CoverageRun, RiskAttestation, RunStatus
from riskgov.core.models import AuditAction, AuditRecord
from riskgov.markets.models import ChangeRequestStatus, MarginParameters, Market, ParameterChangeRequest, RiskBudget
from tests.insurance.conftest import build_book

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait_decided(request: ParameterChangeRequest, timeout: float = 90.0) -> tuple[ParameterChangeRequest, set[float]]:
    """Poll until a worker decided the request; returns it and the progress values seen meanwhile."""
    seen: set[float] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request.refresh_from_db()
        seen.add(request.progress)
        if not request.is_open:
            return request, seen
        time.sleep(0.2)
    pytest.fail(f"change request #{request.pk} still {request.status} ({request.progress:.0%}) after {timeout} s")


def test_a_change_within_budget_is_applied_by_a_worker_after_a_real_paired_run(celery_worker_process, client):
    build_book(positions=60, history_hours=48)
    eth = Market.objects.get(symbol="ETH")
    RiskBudget.objects.create(
        market=eth,
        max_exhaustion_increase=D("0.05"),
        max_es99_increase=D("100000"),
        paths=200,
        steps=12,
        horizon_days=D("1"),
    )
    client.force_login(get_user_model().objects.create_superuser("steward", password="pw"))
    current = MarginParameters.objects.get(market=eth)
    form = {name: "" if value is None else str(value) for name, value in current.values().items()}
    form |= {"mmr": "0.035", "reason": "tighten ahead of the weekend", "market": str(eth.pk)}

    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"{reverse('admin:markets_marginparameters_add')}?market={eth.pk}", form)

    assert response.status_code == 302
    assert not any("insurance_coveragerun" in q["sql"] for q in queries.captured_queries)  # the request never simulates
    request = ParameterChangeRequest.objects.get()
    assert response["Location"] == reverse("admin:markets_parameterchangerequest_change", args=[request.pk])

    decided, progress_seen = _wait_decided(request)

    assert decided.status == ChangeRequestStatus.APPLIED, decided.refusal
    assert (decided.version.version, decided.version.mmr) == (2, D("0.035"))
    assert max(progress_seen) == 1.0
    attestation = RiskAttestation.objects.get(change_request=decided)
    runs = CoverageRun.objects.filter(pk__in=[attestation.coverage_current_id, attestation.coverage_proposed_id])
    assert {r.status for r in runs} == {RunStatus.SUCCEEDED}
    assert all(w.startswith("testworker@") for r in runs for w in r.metrics["timings"]["workers"])  # on the worker
    assert {r.seed for r in runs} == {attestation.seed} and {r.book_sha256 for r in runs} == {runs[0].book_sha256}
    assert decided.attestation["inputs_sha256"] == attestation.inputs_sha256
    assert float(attestation.exhaustion_upper) <= 0.05 and float(attestation.es99_upper) <= 100000
    audit = AuditRecord.objects.get(action=AuditAction.PARAMETERS_CHANGED, subject_id=str(decided.version.pk))
    assert audit.data["attestation"]["runs"] == {"current": runs.get(pk=attestation.coverage_current_id).pk,
                                                 "proposed": attestation.coverage_proposed_id}  # fmt: skip
