"""The loss waterfall through a run: the market's choice is frozen with the inputs, the merged result
carries the auto-deleveraging figures, and the run page shows them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client, TestCase
from django.urls import reverse

from insurance.models import CoverageRun, RunStatus
from insurance.services.coverage_execution import coverage_run_execute_inline, run_frozen_inputs, run_simulate
from insurance.services.coverage_runs import coverage_run_create
from riskgov.markets.models import LossWaterfall, Market
from tests.insurance.conftest import NOW, build_book

pytestmark = pytest.mark.django_db


def _run(**overrides: Any) -> CoverageRun:
    options = {
        "label": "adl",
        "requested_by": "t",
        "paths": 200,
        "steps": 24,
        "chunk_size": 80,
        "seed": 4,
        "at": NOW,
        "enqueue": False,
        "fund_balance": Decimal("0"),  # an empty fund: every bad debt goes down the waterfall
        **overrides,
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = coverage_run_create(**options)
    run = coverage_run_execute_inline(run=run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def test_an_adl_market_is_frozen_into_the_run_and_its_figures_reach_the_run_page(client: Client) -> None:
    build_book()
    Market.objects.filter(symbol="ETH").update(loss_waterfall=LossWaterfall.ADL)
    run = _run()
    by_symbol = {m["symbol"]: m for m in run.market_inputs["markets"]}
    assert by_symbol["ETH"]["loss_waterfall"] == "adl" and by_symbol["BTC"]["loss_waterfall"] == "socialised"
    inputs = run_frozen_inputs(run)
    assert [m.loss_waterfall for m in inputs.markets] == [by_symbol[m.symbol]["loss_waterfall"] for m in inputs.markets]

    # the merged metrics are those of one engine call over the whole run
    whole = run_simulate(run, inputs)
    assert whole.adl is not None
    adl = run.metrics["adl"]
    hit = whole.adl.accounts > 0
    assert adl["paths_with_adl"] == int(hit.sum()) > 0
    assert adl["haircut_per_account"]["accounts"] == int(whole.adl.accounts.sum())
    assert adl["notional"]["mean"] == pytest.approx(float(whole.adl.notional[hit].mean()), rel=1e-12)
    assert adl["haircut"]["max"] == pytest.approx(float(whole.adl.haircut.max()), rel=1e-12)
    assert adl["over_haircut"]["mean"] == pytest.approx(float(whole.adl.over_haircut[hit].mean()), rel=1e-12)
    # money is conserved: the fund ends with its start, penalties in, bad debt out, and what winners and the
    # socialised loss paid in (the over-haircut among it)
    np.testing.assert_allclose(
        whole.fund_end,
        float(run.fund_balance) + whole.penalty_income - whole.bad_debt + whole.uncovered_loss + whole.adl.haircut,
        rtol=0,
        atol=1e-9 * float(whole.bad_debt.max()),
    )
    assert float(whole.adl.haircut.sum()) > 0

    User.objects.create_user("viewer", password="pw")
    client.login(username="viewer", password="pw")
    page = client.get(reverse("insurance:run-detail", args=[run.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="adl"' in body and "Auto-deleveraging" in body and "js/adl.js" in body
    assert f"ADL on {adl['paths_with_adl']} of 200 paths" in body
    assert 'data-insurance-chart="adl-haircut"' in body and "Over-haircut" in body


def test_a_socialised_book_has_no_adl_section() -> None:
    build_book(positions=60)
    run = _run(paths=80, chunk_size=40)
    assert run.metrics is not None and "adl" not in run.metrics
    assert {m["loss_waterfall"] for m in run.market_inputs["markets"]} == {"socialised"}
    assert np.isfinite(run.metrics["summary"]["paths"])


def test_the_market_admin_edits_the_loss_waterfall(admin_client: Client) -> None:
    market = Market.objects.create(symbol="SOL", name="Solana")
    url = reverse("admin:markets_market_change", args=[market.pk])
    form = admin_client.get(url).content.decode()
    assert 'name="loss_waterfall"' in form and "Auto-deleveraging of profitable opposite positions" in form
    listing = admin_client.get(reverse("admin:markets_market_changelist"), {"loss_waterfall__exact": "socialised"})
    assert listing.status_code == 200 and "SOL" in listing.content.decode()
