"""A replay scenario run end to end: started from its page, simulated by the suite's real Celery worker over Redis,
and equal to a simulation of the hand-built price paths (today's price × the window's scaled moves)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from insurance.engine import ExplicitPaths, simulate
from insurance.models import CoverageRun, RunPurpose, RunStatus
from insurance.selectors.scenarios import stress_results_latest
from insurance.services.coverage_execution import run_frozen_inputs
from insurance.services.coverage_files import RESULT_FIELDS, arrays_read
from insurance.services.coverage_runs import run_config
from insurance.services.scenarios import scenario_replay_save
from riskgov.core.roles import Role, role_assign
from riskgov.markets.models import PriceObservation
from tests.insurance.conftest import NOW, build_book, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WINDOW_HOURS = 12
SCALE = 8  # the book's hourly moves are about 1 %: eight times them liquidates some positions


def test_a_replay_run_on_the_worker_equals_the_hand_built_paths(celery_worker_process: Any) -> None:
    build_book()
    start = NOW - timedelta(hours=WINDOW_HOURS)
    replay = scenario_replay_save(
        name="Last twelve hours, eight times", replay_start=start, replay_end=NOW, scale=D(SCALE), actor="t"
    )
    user = User.objects.create_user("steward", password="x")
    role_assign(user=user, roles=[Role.RISK_STEWARD])
    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("insurance:scenario-run", args=[replay.slug]),
        {"label": "replay on the worker", "paths": "4", "horizon_days": "0.75", "steps": "18", "drift": "0",
         "impact": "sqrt", "impact_coefficient": "0.01", "cascade": "on", "liquidation_delay_steps": "0", "seed": "3"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    run = CoverageRun.objects.get()
    assert run.purpose == RunPurpose.STRESS and run.chunk_count == 1
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED, run.error

    inputs = run_frozen_inputs(run)
    config = run_config(run)
    assert config.step_hours == 1.0
    prices = np.empty((config.steps + 1, len(inputs.markets)))
    for m, market in enumerate(inputs.markets):
        stored = [
            float(p)
            for p in PriceObservation.objects.filter(
                market__symbol=market.symbol, observed_at__gt=start, observed_at__lte=NOW
            )
            .order_by("observed_at")
            .values_list("price", flat=True)
        ]
        assert len(stored) == WINDOW_HOURS
        moves = [(stored[min(step, WINDOW_HOURS - 1)] / stored[0]) ** SCALE for step in range(config.steps + 1)]
        prices[:, m] = market.price * np.array(moves)  # held at the window's last move after it ends
    reference = simulate(
        inputs.portfolio,
        inputs.markets,
        ExplicitPaths(np.broadcast_to(prices, (run.paths, *prices.shape))),
        config,
        fund_balance=float(run.fund_balance),
        seed=int(run.seed),
    )
    stored_result = arrays_read(run.results_file, run.results_sha256, what="results")
    for name in RESULT_FIELDS:
        np.testing.assert_allclose(stored_result[name], getattr(reference, name), rtol=1e-9, atol=1e-6, err_msg=name)
    assert reference.liquidated_positions.min() > 0  # the replay liquidates: the comparison is not vacuous

    latest = stress_results_latest(slugs=[replay.slug])
    assert [result.run.pk for result in latest] == [run.pk]
    assert latest[0].headline.mean_bad_debt.value == pytest.approx(
        float(reference.bad_debt_by_market.sum(axis=1).mean())
    )
    page = Client().get(reverse("insurance:scenario-compare"), {"scenario": replay.slug}).content.decode()
    assert f'href="{reverse("insurance:run-detail", args=[run.pk])}"' in page
