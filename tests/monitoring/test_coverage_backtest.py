"""The coverage backtest: quantiles, exceedances and Kupiec's test on a hand-made case, checked by hand and
against scipy's χ² distribution."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from io import StringIO

import numpy as np
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from scipy.stats import chi2

from insurance.models import CoverageRun, InsuranceFund
from insurance.services.coverage_files import run_files_delete
from riskgov.markets.models import LiquidationSource
from riskgov.monitoring.domain.coverage_backtest import coverage_backtest, predicted_quantiles
from riskgov.monitoring.domain.margin_policy import kupiec_pof
from riskgov.monitoring.models import BacktestStatus, CoverageBacktest
from riskgov.monitoring.services.coverage_backtest import coverage_backtest_compute, coverage_backtest_request
from tests.factories import MarketFactory
from tests.monitoring.coverage_backtest_helpers import baseline_run, liquidation

D0 = datetime(2025, 3, 1, tzinfo=UTC)  # the first backtested day
NOW = D0 + timedelta(days=12, hours=9)


def backtest_of(**kwargs) -> CoverageBacktest:
    """Request a backtest and compute it here, as the worker would."""
    backtest = coverage_backtest_request(requested_by="risk", enqueue=False, **kwargs)
    assert coverage_backtest_compute(backtest_id=backtest.pk) == BacktestStatus.SUCCEEDED
    assert coverage_backtest_compute(backtest_id=backtest.pk) == "skipped"  # a second delivery does nothing
    backtest.refresh_from_db()
    return backtest


def test_kupiec_matches_a_hand_worked_example_and_scipy():
    # n = 10 windows, x = 3 exceedances of the 90 % quantile (p = 0.1):
    # LR = −2[7 ln 0.9 + 3 ln 0.1] + 2[7 ln 0.7 + 3 ln 0.3]
    #    = −2(−0.737524 − 6.907755) + 2(−2.496725 − 3.611918) = 15.290558 − 12.217286 = 3.073272
    result = kupiec_pof(10, 3, 0.1)
    assert result.statistic == pytest.approx(3.073272, abs=1e-6)
    assert result.p_value == pytest.approx(chi2.sf(3.073272, df=1), rel=1e-6)
    assert result.p_value == pytest.approx(0.07959, abs=1e-5)
    for n, x, p in ((250, 0, 0.01), (250, 7, 0.01), (30, 30, 0.05), (1000, 61, 0.05)):
        rate = x / n
        log_null = (n - x) * math.log(1 - p) + x * math.log(p)
        log_alt = ((n - x) * math.log(1 - rate) if x < n else 0.0) + (x * math.log(rate) if x else 0.0)
        statistic = -2 * (log_null - log_alt)
        assert kupiec_pof(n, x, p).statistic == pytest.approx(statistic, rel=1e-12, abs=1e-12)
        assert kupiec_pof(n, x, p).p_value == pytest.approx(chi2.sf(statistic, df=1), rel=1e-9, abs=1e-15)


def test_predicted_quantile_is_the_smallest_value_with_enough_probability():
    rng = np.random.default_rng(3)
    bad_debt = np.where(rng.random(997) < 0.8, 0.0, rng.lognormal(10, 2, 997))  # an atom at zero, a long tail
    levels = (0.5, 0.9, 0.95, 0.99)
    ordered = np.sort(bad_debt)
    expected = [ordered[math.ceil(level * len(ordered)) - 1] for level in levels]
    assert predicted_quantiles(bad_debt, levels).tolist() == expected
    assert predicted_quantiles(np.arange(100.0), (0.9, 0.95, 0.99)).tolist() == [89.0, 94.0, 98.0]


def test_exceedances_count_strictly_above_the_quantile():
    realised = np.array([89.0, 89.5, 0.0])
    quantiles = np.array([[89.0], [89.0], [0.0]])
    (result,) = coverage_backtest(realised, quantiles, (0.9,))
    assert (result.observations, result.exceedances) == (3, 1)
    assert result.coverage == pytest.approx(2 / 3)


@pytest.fixture
def fund(db):
    return InsuranceFund.objects.create(name="Backtest fund")


@pytest.fixture
def runs_cleanup():
    runs: list[CoverageRun] = []
    yield runs
    for run in runs:
        run_files_delete(run.results_file.rsplit("/", 1)[0])


REALISED = [0, 50, 95, 0, 120, 0, 0, 90, 0, 10]  # per day, quote units


@pytest.mark.django_db
def test_backtest_of_hand_made_runs_and_liquidations(fund, runs_cleanup):
    eth, btc = MarketFactory(symbol="ETH"), MarketFactory(symbol="BTC")
    paths = np.arange(100.0)  # quantiles 89 / 94 / 98
    for day in range(10):
        start = D0 + timedelta(days=day)
        runs_cleanup.append(baseline_run(fund, finished_at=start - timedelta(hours=6), bad_debt=paths))
        if REALISED[day]:  # split in two liquidations, from the chain and imported
            first = REALISED[day] // 2
            liquidation(eth, at=start + timedelta(hours=3), bad_debt=str(first), external_id=f"a{day}",
                        source=LiquidationSource.CHAIN)  # fmt: skip
            liquidation(eth, at=start + timedelta(hours=23, minutes=59), bad_debt=str(REALISED[day] - first),
                        external_id=f"b{day}")  # fmt: skip
    liquidation(btc, at=D0 + timedelta(hours=5), bad_debt="1000", external_id="other-market")  # not in the runs
    liquidation(eth, at=D0 + timedelta(days=1), bad_debt="7", external_id="midnight")  # belongs to day 1
    # Day 10 has no current run (day 9's is 30 h old then, with a 24 h limit); day 11 has one again.
    runs_cleanup.append(baseline_run(fund, finished_at=D0 + timedelta(days=11, hours=-6), bad_debt=paths))
    liquidation(eth, at=D0 + timedelta(days=11, hours=1), bad_debt="500", external_id="late")

    with time_machine.travel(NOW, tick=False):
        backtest = backtest_of(start=D0.date(), end=(D0 + timedelta(days=11)).date(), max_run_age_hours=24)

    realised = [REALISED[0], REALISED[1] + 7, *REALISED[2:]]
    assert [w["realised"] for w in backtest.windows[:10]] == realised
    assert [w["quantiles"] for w in backtest.windows] == [[89.0, 94.0, 98.0]] * 11
    assert [w["run_age_hours"] for w in backtest.windows] == [6.0] * 11
    assert (backtest.windows[10]["day"], backtest.windows[10]["realised"]) == ("2025-03-12", 500)
    assert len({w["run_id"] for w in backtest.windows}) == 11
    assert [s["day"] for s in backtest.skipped] == ["2025-03-11"]
    assert "30 h old (more than 24 h)" in backtest.skipped[0]["reason"]
    exceed = {row["level"]: row for row in backtest.levels}
    # > 89: 95, 120, 90, 500 · > 94: 95, 120, 500 · > 98: 120, 500 — of 11 windows
    assert [exceed[q]["exceedances"] for q in (0.9, 0.95, 0.99)] == [4, 3, 2]
    assert all(exceed[q]["observations"] == 11 for q in (0.9, 0.95, 0.99))
    for q in (0.9, 0.95, 0.99):
        row = exceed[q]
        assert row["kupiec_lr"] == pytest.approx(kupiec_pof(11, row["exceedances"], 1 - q).statistic)
        assert row["kupiec_p_value"] == pytest.approx(chi2.sf(row["kupiec_lr"], df=1), rel=1e-9)
        assert row["coverage"] == pytest.approx(1 - row["exceedances"] / 11)
    assert backtest.windows[2]["probability_at_most"] == pytest.approx(0.96)  # 96 paths at most 95
    assert [w["follows_previous"] for w in backtest.windows] == [False, *[True] * 9, False]


@pytest.mark.django_db
def test_a_two_day_horizon_gives_non_overlapping_two_day_windows(fund, runs_cleanup):
    eth = MarketFactory(symbol="ETH")
    for day in range(4):
        runs_cleanup.append(baseline_run(fund, finished_at=D0 + timedelta(days=day, hours=-1),
                                         bad_debt=np.arange(100.0), horizon_days="2"))  # fmt: skip
        liquidation(eth, at=D0 + timedelta(days=day, hours=12), bad_debt=str(10 * (day + 1)), external_id=f"d{day}")

    with time_machine.travel(NOW, tick=False):
        backtest = backtest_of(start=D0.date(), end=(D0 + timedelta(days=3)).date())

    assert [(w["day"], w["realised"]) for w in backtest.windows] == [("2025-03-01", 30.0), ("2025-03-03", 70.0)]
    assert backtest.skipped == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": D0.date(), "end": (D0 - timedelta(days=1)).date()}, "end"),
        ({"start": D0.date(), "end": NOW.date()}, "end"),
        ({"start": (D0 - timedelta(days=400)).date(), "end": D0.date()}, "start"),
        ({"start": D0.date(), "end": D0.date(), "levels": (0.9, 1.0)}, "levels"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    with time_machine.travel(NOW, tick=False), pytest.raises(ValidationError) as error:
        coverage_backtest_request(requested_by="risk", **kwargs)
    assert field in error.value.message_dict
    assert not CoverageBacktest.objects.exists()


@pytest.mark.django_db
def test_the_command_backtests_and_prints_the_tests(fund, runs_cleanup):
    eth = MarketFactory(symbol="ETH")
    for day in range(3):
        finished = D0 + timedelta(days=day, hours=-1)
        runs_cleanup.append(baseline_run(fund, finished_at=finished, bad_debt=np.arange(100.0)))
    liquidation(eth, at=D0 + timedelta(hours=2), bad_debt="99.5", external_id="x")
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("coverage_backtest", "--start", "2025-03-01", "--end", "2025-03-03", stdout=out)
        with pytest.raises(CommandError, match="end: The end"):
            call_command("coverage_backtest", "--start", "2025-03-03", "--end", "2025-03-01")

    text = out.getvalue()
    assert "3 windows, 0 days skipped" in text
    statistic = kupiec_pof(3, 1, 0.01).statistic
    assert f"q99%: 1 of 3 exceeded (33.3% vs 1.0%); Kupiec LR {statistic:.3f}" in text


@pytest.mark.django_db
def test_the_daily_backtest_is_scheduled_and_covers_the_last_ninety_days(fund, runs_cleanup):
    from django_celery_beat.models import PeriodicTask

    from riskgov.monitoring.tasks import coverage_backtest_daily

    schedule = PeriodicTask.objects.get(task="riskgov.coverage_backtest_daily")
    assert schedule.enabled and (schedule.crontab.hour, schedule.crontab.minute) == ("3", "15")
    eth = MarketFactory(symbol="ETH")
    yesterday = D0 + timedelta(days=11)
    runs_cleanup.append(baseline_run(fund, finished_at=yesterday - timedelta(hours=2), bad_debt=np.arange(100.0)))
    liquidation(eth, at=yesterday + timedelta(hours=5), bad_debt="95", external_id="y")

    with time_machine.travel(NOW, tick=False):
        backtest = CoverageBacktest.objects.get(pk=coverage_backtest_daily.run())

    assert (backtest.start, backtest.end) == ((yesterday - timedelta(days=89)).date(), yesterday.date())
    assert (backtest.requested_by, backtest.status) == ("scheduler", BacktestStatus.SUCCEEDED)
    assert [(w["day"], w["realised"], w["exceeded"]) for w in backtest.windows] == [
        ("2025-03-12", 95.0, [True, True, False])
    ]
    assert len(backtest.skipped) == 89
