"""The impact preview's counts equal a loop over positions with the Decimal formulas."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from django.urls import reverse

from insurance.models import CoverageChunk, CoverageRun, RunPurpose, RunStatus
from insurance.selectors.coverage import run_latest_baseline
from insurance.services import coverage_runs
from insurance.services.coverage_execution import coverage_run_execute_inline
from riskgov.core import dispatch
from riskgov.governance.models import Proposal
from riskgov.governance.selectors.impact import proposal_impact
from riskgov.governance.services.proposals import COVERAGE_PREVIEW_TASK
from riskgov.governance.tasks import governance_coverage_preview, governance_impact_refresh
from riskgov.markets.domain.position_math import position_risk
from tests.factories import MarginParametersFactory, MarketFactory, PositionFactory, PriceObservationFactory
from tests.governance.conftest import WAD, make_proposal
from tests.insurance.conftest import build_book

pytestmark = pytest.mark.django_db

PRICE = D("3000")
ROWS = [  # size, entry, collateral
    (D("1"), D("3000"), D("600")),  # 5x: healthy everywhere
    (D("1"), D("3050"), D("100")),  # 60x: above the current max leverage, liquidatable at mmr 5 %
    (D("2"), D("3000"), D("200")),  # 30x: liquidatable at mmr 5 %
    (D("-1"), D("2980"), D("150")),  # short 23x: liquidatable at mmr 5 %
    (D("1"), D("3000"), D("250")),  # 12x: only below the 10 % initial margin
    (D("-3"), D("3000"), D("9000")),  # 1x short
]


def test_counts_match_the_decimal_formulas():
    eth = MarketFactory(symbol="ETH")
    MarginParametersFactory(market=eth, imr=D("0.02"), mmr=D("0.01"), max_leverage=D("50"))
    PriceObservationFactory(market=eth, price=PRICE, observed_at=datetime(2024, 1, 1, tzinfo=UTC))
    for size, entry, collateral in ROWS:
        PositionFactory(market=eth, size=size, entry_price=entry, collateral=collateral)
    proposed = {"imr": D("0.1"), "mmr": D("0.05"), "max_leverage": D("10")}

    (impact,) = proposal_impact({"ETH": proposed})["markets"]

    risks = [position_risk(size=s, entry_price=e, collateral=c, price=PRICE, mmr=D("0.01")) for s, e, c in ROWS]

    def count(condition) -> int:
        return sum(1 for risk in risks if condition(risk))

    assert impact["liquidatable"]["current_count"] == count(lambda r: r.equity < D("0.01") * r.notional)
    assert impact["liquidatable"]["proposed_count"] == count(lambda r: r.equity < D("0.05") * r.notional)
    assert impact["below_initial"]["proposed_count"] == count(lambda r: r.equity < D("0.1") * r.notional)
    assert impact["above_max_leverage"]["current_count"] == count(lambda r: r.leverage > 50)
    assert impact["above_max_leverage"]["proposed_count"] == count(lambda r: r.leverage > 10)
    liquidatable = impact["liquidatable"]
    after = [r.notional for r in risks if r.equity < D("0.05") * r.notional]
    assert liquidatable["proposed_notional"] == pytest.approx(float(sum(after)))
    assert liquidatable["new_count"] == count(lambda r: D("0.01") * r.notional <= r.equity < D("0.05") * r.notional)
    assert liquidatable["new_count"] > 0 and impact["below_initial"]["proposed_count"] > liquidatable["proposed_count"]


def test_the_refresh_task_recomputes_the_stored_preview_against_todays_positions(chain, holders, market, gov_settings):
    proposal = make_proposal(chain, holders[0], mmr="0.035")
    (before,) = proposal.impact["markets"]
    assert before["liquidatable"]["proposed_count"] == 0
    # margin ratio 100 / 3000 = 3.3 %: safe at the current 3 % maintenance margin, liquidatable at 3.5 %
    PositionFactory(market=market, size=D("1"), entry_price=PRICE, collateral=D("100"))

    governance_impact_refresh.apply(kwargs={"proposal_id": proposal.pk}).get()
    proposal.refresh_from_db()
    (after,) = proposal.impact["markets"]
    assert (after["liquidatable"]["current_count"], after["liquidatable"]["new_count"]) == (0, 1)

    governance_impact_refresh.apply(kwargs={"proposal_id": proposal.pk}).get()  # again: the same preview
    proposal.refresh_from_db()
    assert proposal.impact["markets"] == [after]


def test_creating_a_proposal_enqueues_its_paired_coverage_preview_and_the_page_follows_it(
    client, chain, holders, gov_settings, monkeypatch, django_capture_on_commit_callbacks
):
    build_book()
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(dispatch, "send", lambda name, **kwargs: sent.append((name, kwargs)))
    monkeypatch.setattr(coverage_runs, "coverage_run_enqueue", lambda *, run_id: 0)  # chunks stay queued
    session = client.session
    session["siwe_address"] = holders[0].address
    session.save()
    chain.powers[holders[0].address] = 5000 * WAD
    form = {"title": "Tighten ETH", "description": "Volatility is up.", "changes-TOTAL_FORMS": "1",
            "changes-INITIAL_FORMS": "0", "changes-MIN_NUM_FORMS": "0", "changes-MAX_NUM_FORMS": "12",
            "changes-0-market": "ETH", "changes-0-field": "mmr", "changes-0-new_value": "0.035"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("governance:proposal-new"), form)
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    # the request froze no coverage inputs and simulated nothing: it only sent the preview task by name
    assert sent == [(COVERAGE_PREVIEW_TASK, {"proposal_id": proposal.pk})]
    assert not CoverageRun.objects.exists() and not CoverageChunk.objects.exists()
    page = client.get(reverse("governance:proposal-detail", args=[proposal.pk])).content.decode()
    fragment_url = reverse("governance:proposal-coverage", args=[proposal.pk])
    assert 'data-state="queued"' in page and f'hx-get="{fragment_url}"' in page

    with django_capture_on_commit_callbacks(execute=True):  # the worker runs the task; twice changes nothing
        governance_coverage_preview(proposal_id=proposal.pk)
        governance_coverage_preview(proposal_id=proposal.pk)
    proposal.refresh_from_db()
    current, proposed = proposal.coverage_current, proposal.coverage_proposed
    assert CoverageRun.objects.count() == 2 and current is not None and proposed is not None
    assert {current.purpose, proposed.purpose} == {RunPurpose.PROPOSAL_IMPACT}
    assert (current.seed, current.paths, current.steps, current.horizon_days, current.book_sha256) == (
        proposed.seed,
        proposed.paths,
        proposed.steps,
        proposed.horizon_days,
        proposed.book_sha256,
    )
    assert current.inputs_sha256 != proposed.inputs_sha256  # the parameters differ, the book does not
    fragment = client.get(fragment_url)
    assert 'data-state="running"' in fragment.content.decode() and "HX-Refresh" not in fragment

    for run in (current, proposed):
        assert coverage_run_execute_inline(run=run).status == RunStatus.SUCCEEDED
    fragment = client.get(fragment_url)
    assert fragment["HX-Refresh"] == "true"
    page = client.get(reverse("governance:proposal-detail", args=[proposal.pk])).content.decode()
    assert "Paired difference" in page and "ΔES99" in page and "ΔP(fund exhausted)" in page
    assert "Not a paired comparison" not in page
    assert run_latest_baseline() is None  # a proposal's runs never become the fund's headline
