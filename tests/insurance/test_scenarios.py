"""The scenario library: seeded shocks with sources, replay paths against hand-computed returns, validation, and
the Scenarios pages (list, detail, replay form, running a scenario, results side by side)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from insurance.engine import NAMED_SCENARIOS, SimulationConfig, StressScenario
from insurance.engine.stress import ScenarioPath, replay_changes, shock_changes
from insurance.models import CoverageRun, PriceModelKind, RunPurpose, RunStatus, Scenario, ScenarioKind
from insurance.selectors.scenarios import scenario_path, stress_results_latest
from insurance.services.coverage_model import engine_model
from insurance.services.coverage_runs import coverage_run_create, run_config
from insurance.services.scenarios import scenario_replay_save
from riskgov.core.models import AuditAction, AuditRecord
from riskgov.core.roles import Role, role_assign
from riskgov.markets.models import Market, PriceObservation
from tests.factories import MarketFactory
from tests.insurance.conftest import NOW, build_book

pytestmark = pytest.mark.django_db

LIBRARY = {"march_2020", "may_2022", "november_2022", "flash_crash", "august_2024", "october_2025"}


def stored_prices(symbol: str, start: Any, end: Any) -> np.ndarray:
    """The stored prices of `symbol` in (start, end], oldest first (one a hour in these books)."""
    rows = PriceObservation.objects.filter(market__symbol=symbol, observed_at__gt=start, observed_at__lte=end).order_by(
        "observed_at"
    )
    return np.array([float(row.price) for row in rows])


# ------------------------------------------------------------------ the library


def test_the_library_holds_the_six_scenarios_with_their_sources() -> None:
    scenarios = {s.slug: s for s in Scenario.objects.all()}
    assert set(scenarios) >= LIBRARY
    assert all(s.kind == ScenarioKind.SHOCK and s.source.strip() for s in scenarios.values() if s.slug in LIBRARY)
    for slug in ("august_2024", "october_2025"):
        assert scenarios[slug].source.count("https://") >= 2, slug
    # the earlier four are the same shocks the engine shipped
    for slug, (_, waypoints) in NAMED_SCENARIOS.items():
        assert [tuple(point) for point in scenarios[slug].waypoints] == list(waypoints), slug
    aug = scenarios["august_2024"]
    assert aug.beta_for("BTC") * aug.waypoints[2][1] == pytest.approx(-0.15)  # BTC about −15 % intraday
    assert aug.beta_for("ETH") * aug.waypoints[2][1] == pytest.approx(-0.2025)  # ETH about −20 %
    october = scenarios["october_2025"]
    low = min(change for _, change in october.waypoints)
    assert (low, october.beta_for("ETH") * low, october.beta_for("SOL") * low) == pytest.approx(
        (-0.12, -0.16, -0.31), abs=0.005
    )


# ------------------------------------------------------------------ paths: hand-computed numbers


def test_a_replay_of_a_tiny_price_series_gives_its_returns_and_scale_multiplies_log_returns() -> None:
    prices = np.array(
        [
            [100.0, np.nan, np.nan],
            [110.0, 50.0, np.nan],
            [99.0, np.nan, np.nan],
            [np.nan, 55.0, np.nan],
            [121.0, 45.0, np.nan],
        ]
    )
    hours, changes, covered = replay_changes(np.log(prices))
    assert hours.tolist() == [0, 1, 2, 3, 4]
    assert covered.tolist() == [True, True, False]
    # market 0: 110/100 − 1, 99/100 − 1, the hour without a price carries 99, 121/100 − 1
    np.testing.assert_allclose(changes[:, 0], [0, 0.10, -0.01, -0.01, 0.21], atol=1e-12)
    # market 1 starts an hour late: flat until its first price, then 55/50 − 1 and 45/50 − 1
    np.testing.assert_allclose(changes[:, 1], [0, 0, 0, 0.10, -0.10], atol=1e-12)
    assert changes[:, 2].tolist() == [0, 0, 0, 0, 0]
    _, doubled, _ = replay_changes(np.log(prices), scale=2.0)
    np.testing.assert_allclose(doubled[:, 0], [0, 0.21, -0.0199, -0.0199, 0.4641], atol=1e-12)  # (p/p0)² − 1
    _, halved, _ = replay_changes(np.log(prices), scale=0.5)
    np.testing.assert_allclose(halved[:, 1], [0, 0, 0, 1.1**0.5 - 1, 0.9**0.5 - 1], atol=1e-12)
    with pytest.raises(ValueError, match="scale"):
        replay_changes(np.log(prices), scale=0.0)


def test_a_scenario_path_is_interpolated_per_market_held_after_its_end_and_floored() -> None:
    path = ScenarioPath(name="t", hours=[0.0, 2.0, 4.0], changes=[[0.0, 0.0], [-0.2, -0.1], [0.1, -0.999]])
    config = SimulationConfig(paths=1, steps=6, horizon_days=0.25)  # one-hour steps, six hours
    factors = path.price_factors(2, config)
    expected = [[1, 1], [0.9, 0.95], [0.8, 0.9], [0.95, 1 + (-0.1 - 0.999) / 2], [1.1, 0.01], [1.1, 0.01], [1.1, 0.01]]
    np.testing.assert_allclose(factors, expected, atol=1e-12)


@pytest.mark.parametrize("name", sorted(NAMED_SCENARIOS))
def test_a_shock_with_betas_gives_the_engine_stress_scenario_factors(name: str) -> None:
    _, waypoints = NAMED_SCENARIOS[name]
    betas = [1.0, 1.35, 2.6]
    hours, changes = shock_changes(waypoints, betas)
    config = SimulationConfig(paths=1, steps=200, horizon_days=8)
    reference = StressScenario(name=name, waypoints=waypoints, betas=betas).price_factors(3, config)
    np.testing.assert_allclose(ScenarioPath(name, hours, changes).price_factors(3, config), reference, atol=1e-12)


def test_a_replay_scenario_reads_the_window_of_stored_prices() -> None:
    market = Market.objects.create(symbol="TST", name="Test perpetual", depth=D("1000000"))
    start = NOW - timedelta(hours=5)
    for k, price in enumerate([100, 110, 99, 121, 88]):
        PriceObservation.objects.create(
            market=market, price=D(price), observed_at=start + timedelta(hours=k, minutes=30), source="test"
        )
    replay = scenario_replay_save(
        name="Tiny window", replay_start=start, replay_end=NOW, scale=D("2"), actor="analyst", source="hand-made"
    )
    path = scenario_path(scenario=replay, markets=[market])
    assert path.hours == [0, 1, 2, 3, 4] and path.flat == []
    np.testing.assert_allclose(np.array(path.changes)[:, 0], [0, 0.21, -0.0199, 0.4641, -0.2256], atol=1e-12)
    assert replay.slug == "tiny-window" and replay.kind == ScenarioKind.REPLAY
    assert AuditRecord.objects.filter(action=AuditAction.SCENARIO_SAVED, subject_id=str(replay.pk)).count() == 1


def test_a_stress_run_freezes_its_replay_path_from_the_stored_prices() -> None:
    build_book()
    start = NOW - timedelta(hours=12)
    replay = scenario_replay_save(name="Last twelve hours", replay_start=start, replay_end=NOW, actor="analyst")
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = coverage_run_create(
            label="replay",
            requested_by="t",
            model=PriceModelKind.STRESS,
            model_params={"scenario": replay.slug},
            paths=2,
            steps=12,
            horizon_days=D("0.5"),
            seed=1,
            at=NOW,
            enqueue=False,
        )
    path = run.model_params["path"]
    assert run.purpose == RunPurpose.STRESS and path["kind"] == "replay" and path["symbols"] == ["BTC", "ETH"]
    for m, symbol in enumerate(path["symbols"]):
        prices = stored_prices(symbol, start, NOW)
        assert len(prices) == 12
        np.testing.assert_allclose([row[m] for row in path["changes"]], prices / prices[0] - 1, rtol=0, atol=1e-12)
    # what the workers replay: today's price times the window's moves, one hour per step
    model = engine_model(run.model, run.model_params, correlation=np.eye(2), bootstrap_returns=np.empty((0, 2)))
    assert isinstance(model, ScenarioPath)
    factors = model.price_factors(2, run_config(run))
    eth = stored_prices("ETH", start, NOW)
    np.testing.assert_allclose(factors[:12, 1], eth / eth[0], rtol=1e-12)
    np.testing.assert_allclose(factors[12, 1], eth[-1] / eth[0], rtol=1e-12)  # held after the window


def test_a_run_freezes_its_scenario_only_as_far_as_its_horizon() -> None:
    build_book()
    start = NOW - timedelta(hours=12)
    replay = scenario_replay_save(name="Twelve hours", replay_start=start, replay_end=NOW, actor="analyst")
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = coverage_run_create(
            label="short", requested_by="t", model="stress", model_params={"scenario": replay.slug}, paths=1,
            steps=12, horizon_days=D("0.25"), at=NOW, enqueue=False,
        )  # fmt: skip
    assert run.model_params["path"]["hours"] == [0, 1, 2, 3, 4, 5, 6]  # six of the window's twelve hours
    model = engine_model(run.model, run.model_params, correlation=np.eye(2), bootstrap_returns=np.empty((0, 2)))
    assert isinstance(model, ScenarioPath)
    btc = stored_prices("BTC", start, NOW)
    expected = np.interp(np.arange(13) * 0.5, np.arange(12), btc / btc[0])  # half-hour steps through the window
    np.testing.assert_allclose(model.price_factors(2, run_config(run))[:, 0], expected, rtol=1e-12)


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"replay_end": NOW - timedelta(hours=30)}, "replay_end", "after its start"),
        ({"replay_end": timezone.now() + timedelta(days=1)}, "replay_end", "in the future"),
        ({"replay_start": NOW - timedelta(days=120)}, "replay_end", "at most 90 days"),
        (
            {"replay_start": NOW - timedelta(days=20), "replay_end": NOW - timedelta(days=10)},
            "replay_start",
            "No market",
        ),
        ({"scale": D("0")}, "scale", "above 0"),
        ({"scale": D("11")}, "scale", "at most 10"),
        ({"name": "  "}, "name", "name"),
    ],
)
def test_a_bad_replay_names_the_field_and_writes_nothing(change: dict[str, Any], field: str, message: str) -> None:
    build_book()
    before = Scenario.objects.count()
    arguments = {"name": "Window", "replay_start": NOW - timedelta(hours=24), "replay_end": NOW, "actor": "t", **change}
    with pytest.raises(ValidationError) as raised:
        scenario_replay_save(**arguments)
    assert field in raised.value.message_dict and message in raised.value.message_dict[field][0]
    assert Scenario.objects.count() == before and not AuditRecord.objects.filter(action=AuditAction.SCENARIO_SAVED)


def test_a_library_shock_is_not_edited_as_a_replay() -> None:
    shock = Scenario.objects.get(slug="march_2020")
    with pytest.raises(ValidationError) as raised:
        scenario_replay_save(scenario=shock, name="x", replay_start=NOW - timedelta(hours=3), replay_end=NOW, actor="t")
    assert "kind" in raised.value.message_dict


def test_a_run_of_a_replay_without_prices_of_the_simulated_markets_is_refused() -> None:
    build_book()
    other = MarketFactory(symbol="SOL")
    start = NOW - timedelta(days=30)
    for k in range(3):
        PriceObservation.objects.create(
            market=other, price=D(20 + k), observed_at=start + timedelta(hours=k, minutes=5)
        )
    replay = scenario_replay_save(name="SOL only", replay_start=start, replay_end=start + timedelta(hours=3), actor="t")
    with pytest.raises(ValidationError) as raised:
        coverage_run_create(
            label="r", requested_by="t", model="stress", model_params={"scenario": replay.slug}, paths=1, steps=3,
            horizon_days=D("0.125"), at=NOW, enqueue=False,
        )  # fmt: skip
    assert "holds no stored price of the simulated markets (BTC, ETH)" in raised.value.message_dict["model_params"][0]
    with pytest.raises(ValidationError, match="scenario must be one of"):
        coverage_run_create(label="r", requested_by="t", model="stress", model_params={"scenario": "nope"}, at=NOW)
    assert not CoverageRun.objects.exists()


# ------------------------------------------------------------------ pages


@pytest.fixture
def steward(client: Client) -> Client:
    user = User.objects.create_user("steward", password="x")
    role_assign(user=user, roles=[Role.RISK_STEWARD])
    client.force_login(user)
    return client


def test_the_list_charts_every_scenario_for_todays_markets(client: Client) -> None:
    build_book()
    response = client.get(reverse("insurance:scenario-list"))
    page = response.content.decode()
    assert response.status_code == 200
    for scenario in Scenario.objects.all():
        assert scenario.name in page and f'data-scenario-chart="{scenario.slug}"' in page
    charts = response.context["charts"]
    flash = charts["flash_crash"]
    assert flash["hours"] == [0.0, 1.0, 4.0] and [s["symbol"] for s in flash["series"]] == ["BTC", "ETH"]
    assert flash["series"][0]["change_pct"] == [0.0, -30.0, -5.0]
    assert "<script>" not in page  # charts come from static JS and a json_script block only
    assert "New replay" not in page  # an anonymous visitor cannot create one


def test_the_list_page_reads_a_fixed_number_of_queries_plus_one_per_replay(client: Client) -> None:
    build_book()
    url = reverse("insurance:scenario-list")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = queries()
    for n in range(3):
        Scenario.objects.create(
            slug=f"shock-{n}", name=f"Shock {n}", kind=ScenarioKind.SHOCK, waypoints=[[0, 0], [1, -0.1]]
        )
    assert queries() == before  # shocks are drawn from their rows alone
    for n in range(2):
        scenario_replay_save(name=f"Replay {n}", replay_start=NOW - timedelta(hours=6), replay_end=NOW, actor="t")
    assert queries() == before + 2  # each replay reads its window of prices once


def test_the_detail_shows_sources_waypoints_per_market_and_the_run_form_to_stewards(steward: Client) -> None:
    build_book()
    page = steward.get(reverse("insurance:scenario-detail", args=["october_2025"])).content.decode()
    assert 'href="https://followin.io/feed/22111099"' in page
    assert "ETH (β 1.33)" in page and "Start stress run" in page
    assert Client().get(reverse("insurance:scenario-detail", args=["nope"])).status_code == 404


def test_the_replay_form_reports_each_error_and_saves_a_valid_replay(steward: Client) -> None:
    build_book()
    url = reverse("insurance:scenario-new")
    empty = steward.post(url, {})
    assert empty.status_code == 400 and set(empty.context["form"].errors) >= {"name", "replay_start", "replay_end"}
    backwards = steward.post(
        url, {"name": "x", "replay_start": "2024-06-01T10:00", "replay_end": "2024-06-01T09:00", "scale": "1"}
    )
    assert backwards.status_code == 400
    assert backwards.context["form"].errors["replay_end"] == ["The end of the window must come after its start."]
    no_data = steward.post(
        url, {"name": "x", "replay_start": "2024-01-01T00:00", "replay_end": "2024-01-02T00:00", "scale": "1"}
    )
    assert (
        no_data.status_code == 400
        and "No market has stored prices" in no_data.context["form"].errors["replay_start"][0]
    )
    assert not Scenario.objects.filter(kind=ScenarioKind.REPLAY).exists()
    saved = steward.post(
        url, {"name": "Last day", "replay_start": "2024-05-31T12:00", "replay_end": "2024-06-01T12:00", "scale": "1.5"}
    )
    replay = Scenario.objects.get(kind=ScenarioKind.REPLAY)
    assert saved.status_code == 302 and saved["Location"] == reverse("insurance:scenario-detail", args=[replay.slug])
    assert replay.scale == D("1.5") and replay.duration_hours == 24 and replay.created_by == "steward"
    edit = reverse("insurance:scenario-edit", args=[replay.slug])
    assert 'value="Last day"' in steward.get(edit).content.decode()
    steward.post(
        edit, {"name": "Last day", "replay_start": "2024-05-31T12:00", "replay_end": "2024-06-01T12:00", "scale": "2"}
    )
    replay.refresh_from_db()
    assert replay.scale == D("2") and replay.slug == "last-day"


def test_running_a_scenario_from_its_page_starts_a_stress_run(
    steward: Client, _tasks_stay_off_the_broker: list[Any]
) -> None:
    build_book()
    url = reverse("insurance:scenario-run", args=["august_2024"])
    refused = steward.post(url, {"label": "x", "paths": "0", "horizon_days": "1", "steps": "24", "drift": "0"})
    assert refused.status_code == 400 and "paths" in refused.context["form"].errors
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = steward.post(
            url,
            {"label": "Aug 2024", "paths": "3", "horizon_days": "1", "steps": "24", "drift": "0", "impact": "sqrt",
             "impact_coefficient": "0.01", "cascade": "on", "liquidation_delay_steps": "0", "seed": "5"},
        )  # fmt: skip
    run = CoverageRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("insurance:run-detail", args=[run.pk])
    assert (run.purpose, run.model, run.model_params["scenario"], run.requested_by) == (
        RunPurpose.STRESS, PriceModelKind.STRESS, "august_2024", "steward",
    )  # fmt: skip
    assert run.model_params["path"]["betas"] == {"BTC": 1.0, "ETH": 1.35}
    assert np.array(run.model_params["path"]["changes"])[2].tolist() == pytest.approx([-0.15, -0.2025])
    assert [name for name, *_ in _tasks_stay_off_the_broker].count("insurance.simulate_chunk") == 1
    page = steward.get(reverse("insurance:scenario-detail", args=["august_2024"])).content.decode()
    assert f'href="{reverse("insurance:run-detail", args=[run.pk])}"' in page
    run_page = steward.get(reverse("insurance:run-detail", args=[run.pk])).content.decode()
    assert f'href="{reverse("insurance:scenario-detail", args=["august_2024"])}">5 August 2024' in run_page


def test_results_side_by_side_take_the_latest_succeeded_run_of_each_scenario(client: Client) -> None:
    build_book()
    finished = timezone.now() - timedelta(hours=5)

    def stress_run(
        slug: str, *, hours_later: float, mean_bad_debt: float, status: str = RunStatus.SUCCEEDED
    ) -> CoverageRun:
        summary = {
            "exhaustion_probability": {"value": 0.0}, "mean_bad_debt": {"value": mean_bad_debt},
            "coverage_ratio": {"value": None}, "required_fund": {"value": 0.0},
            "mean_uncovered_loss": {"value": 0.0},
            "tail": [{"level": 0.99, "expected_shortfall": {"value": mean_bad_debt}, "value_at_risk": {"value": 1.0}}],
            "target_exhaustion_probability": 0.01, "confidence": 0.95, "fund_balance": 1000.0, "paths": 1,
        }  # fmt: skip
        return CoverageRun.objects.create(
            label=slug, purpose=RunPurpose.STRESS, model=PriceModelKind.STRESS, model_params={"scenario": slug},
            requested_by="t", fund_balance=D("1000"), paths=1, steps=24, horizon_days=D("1"), impact_coefficient=D("0"),
            seed=1, chunk_size=1, engine_version="t", status=status,
            finished_at=finished + timedelta(hours=hours_later), metrics={"summary": summary, "worst_paths": []},
        )  # fmt: skip

    stress_run("flash_crash", hours_later=0, mean_bad_debt=111.0)
    newest = stress_run("flash_crash", hours_later=1, mean_bad_debt=222.0)
    stress_run("flash_crash", hours_later=2, mean_bad_debt=999.0, status=RunStatus.FAILED)
    other = stress_run("may_2022", hours_later=0, mean_bad_debt=333.0)
    # in library order (kind, then name), each with its newest succeeded run
    assert [(r.slug, r.run.pk) for r in stress_results_latest()] == [("flash_crash", newest.pk), ("may_2022", other.pk)]
    assert stress_results_latest()[0].age_hours == pytest.approx(4, abs=0.01)
    response = client.get(reverse("insurance:scenario-compare"), {"scenario": ["flash_crash", "may_2022"]})
    page = response.content.decode()
    assert response.status_code == 200 and "$222" in page and "$333" in page and "$111" not in page
    only = client.get(reverse("insurance:scenario-compare"), {"scenario": "may_2022"}).content.decode()
    assert "$333" in only and "$222" not in only
