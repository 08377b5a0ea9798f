"""Report generation: figures equal the selectors' for the same snapshot, idempotency, no data, alerts."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.core.management import call_command

from insurance.selectors.coverage import run_headline
from insurance.selectors.funds import fund_balance
from riskgov.core.models.versions import ChangeSource
from riskgov.core.templatetags.riskgov_format import usd
from riskgov.markets.models import PROTOCOL_SCOPE, Market
from riskgov.markets.selectors.overview import dashboard_overview
from riskgov.markets.services.exposure import SnapshotError
from riskgov.markets.tasks import exposure_snapshot
from riskgov.reports.domain.periods import period_containing, period_parse
from riskgov.reports.models import ExposureReport, ReportKind
from riskgov.reports.services.content import Thresholds, report_alerts
from riskgov.reports.services.reports import exposure_report_generate
from riskgov.reports.tasks import generate_exposure_report
from tests.factories import MarginParametersFactory
from tests.markets.test_snapshot_health import huge_position
from tests.reports.conftest import coverage_run_succeeded

pytestmark = pytest.mark.django_db


def _number(value):
    return float(value) if value is not None else None


def test_report_figures_equal_the_dashboard_selectors_for_the_same_snapshot(protocol, daily_schedule):
    report = exposure_report_generate(schedule=daily_schedule, period=protocol.period, requested_by="test").report
    dashboard = dashboard_overview()  # the fixture's last snapshot set is also the newest one
    content = report.content
    assert report.snapshot_id == dashboard.protocol.pk == content["snapshot"]["id"]
    assert report.has_data

    headline, protocol_row = content["headline"], dashboard.protocol
    for name in ("oi_long", "oi_short", "collateral", "liquidatable_notional"):
        assert D(headline[name]) == getattr(protocol_row, name)
    assert D(headline["oi_net"]) == protocol_row.oi_net
    for name in ("leverage_p50", "leverage_p90", "leverage_p99", "top10_share", "hhi"):
        assert _number(headline[name]) == getattr(protocol_row, name)
    assert headline["position_count"] == protocol_row.position_count
    near = [(band, f["count"], float(f["notional"])) for band, f in content["near_liquidation"].items()]
    assert near == dashboard.near_liquidation
    assert [(t["address"], D(t["notional"])) for t in content["top_accounts"]] == [
        (t["address"], D(str(t["notional"]))) for t in protocol_row.top_accounts
    ]

    shock_index = {label: i for i, label in enumerate(dashboard.shocks)}
    for scope_row, shocks in [(dashboard.shock_rows[0], content["shocks"])] + [
        (row, next(m["shocks"] for m in content["markets"] if m["symbol"] == row.scope))
        for row in dashboard.shock_rows[1:]
    ]:
        for move, bad_debt in shocks.items():
            assert float(bad_debt) == pytest.approx(scope_row.bad_debt[shock_index[f"{float(move):+g} %"]], abs=1e-6)
    assert set(content["shocks"]) == {"-50", "-30", "-20", "-10", "10", "20", "30"}

    markets = {m["symbol"]: m for m in content["markets"]}
    assert set(markets) == {s.scope for s in dashboard.markets}
    for snapshot in dashboard.markets:
        market = markets[snapshot.scope]
        assert (D(market["oi_long"]), D(market["oi_short"])) == (snapshot.oi_long, snapshot.oi_short)
        assert _number(market["leverage_p50"]) == snapshot.leverage_p50
        assert market["hhi"] == snapshot.hhi and market["top10_share"] == snapshot.top10_share
        assert D(market["near_liquidation"]["10"]["notional"]) == D(str(snapshot.near_liquidation["10"]["notional"]))

    previous = next(s for s in protocol.previous if s.scope == PROTOCOL_SCOPE)
    assert D(content["change"]["oi_long"]) == protocol_row.oi_long - previous.oi_long

    insurance = content["insurance"]
    assert D(insurance["balance"]) == fund_balance(fund=protocol.fund, at=protocol.period.end)
    assert insurance["run"]["id"] == protocol.run.pk
    assert insurance["run"]["coverage_ratio"] == run_headline(protocol.run).coverage_ratio.value
    assert insurance["run"]["url"] == f"/insurance/runs/{protocol.run.pk}/"

    assert usd(protocol_row.oi_long) in report.html
    assert {"history", "open_interest", "shocks", "leverage"} <= set(report.charts)
    assert report.html.count("<svg") == len(report.charts)


def test_same_schedule_and_period_twice_gives_one_report(protocol, daily_schedule):
    first = exposure_report_generate(schedule=daily_schedule, period=protocol.period, requested_by="test")
    again = generate_exposure_report(schedule_id=daily_schedule.pk, period=protocol.period.label, deliver=False)
    call_command("exposure_report", schedule=daily_schedule.name, period=protocol.period.label, no_email=True)
    assert first.created
    assert again == first.report.pk
    assert ExposureReport.objects.count() == 1


def test_a_period_without_snapshots_says_so(protocol, daily_schedule):
    empty = protocol.period.previous().previous()  # two days back: no snapshot was taken
    report = exposure_report_generate(schedule=daily_schedule, period=empty, requested_by="test").report
    assert not report.has_data and report.snapshot is None
    assert report.content["markets"] == [] and report.content["headline"] is None
    assert "No exposure data for this period" in report.html
    assert report.content["insurance"]["balance"] is not None  # the ledger still reports


def test_weekly_market_detail_lists_each_chosen_market(protocol, weekly_schedule):
    eth = next(s.market for s in protocol.last if s.scope == "ETH")
    weekly_schedule.markets.set([eth])
    week = period_containing("weekly", protocol.period.start)
    with time_machine.travel(week.end + timedelta(hours=7)):  # the week must have ended to be reported
        report = exposure_report_generate(schedule=weekly_schedule, period=week, requested_by="test").report
    assert report.kind == ReportKind.MARKET_DETAIL and report.period_label == week.label
    assert [m["symbol"] for m in report.content["markets"]] == ["ETH"]
    assert report.content["snapshot"]["id"] == protocol.last[0].pk  # the last snapshot of the week
    assert "ETH in detail" in report.html and "history:ETH" in report.charts


def test_parameter_changes_in_the_period_are_listed_with_their_source(protocol, daily_schedule):
    eth = next(s.market for s in protocol.last if s.scope == "ETH")
    MarginParametersFactory(
        market=eth,
        version=2,
        imr=D("0.025"),
        mmr=D("0.012"),
        source=ChangeSource.PROPOSAL,
        proposal_ref="PROP-7",
        reason="raise margins",
        effective_at=protocol.period.start + timedelta(hours=3),
    )
    report = exposure_report_generate(schedule=daily_schedule, period=protocol.period, requested_by="test").report
    (change,) = report.content["parameter_changes"]
    assert change["market"] == "ETH" and change["source"] == "proposal" and change["proposal_ref"] == "PROP-7"
    assert change["changes"] == {"imr": ["0.02000000", "0.02500000"], "mmr": ["0.01000000", "0.01200000"]}
    assert "Governance proposal" in report.html


def _content(
    *, coverage_ratio=2.0, exhaustion=0.001, top10=0.3, market_top10=0.9, cap_share=0.5, kind=ReportKind.PROTOCOL
):
    return {
        "kind": kind,
        "insurance": {"run": {"coverage_ratio": coverage_ratio, "exhaustion_probability": exhaustion}},
        "headline": {"top10_share": top10},
        "markets": [{"symbol": "ETH", "top10_share": market_top10, "oi_cap_share": cap_share}],
    }


def test_alert_thresholds_are_configurable():
    thresholds = Thresholds(
        coverage_ratio_min=1.0, oi_cap_share_max=0.9, top10_share_max=0.5, exhaustion_probability_max=0.01
    )
    assert report_alerts(_content(), thresholds) == []
    crossed = report_alerts(_content(coverage_ratio=0.8, exhaustion=0.03, top10=0.6, cap_share=0.95), thresholds)
    assert [(a["code"], a["scope"]) for a in crossed] == [
        ("coverage_ratio", "ALL"),
        ("exhaustion_probability", "ALL"),
        ("top10_share", "ALL"),
        ("oi_cap", "ETH"),
    ]
    assert "0.80 is below 1" in crossed[0]["message"]
    # market concentration counts in per-market reports only; looser thresholds silence the rest
    detail = report_alerts(_content(kind=ReportKind.MARKET_DETAIL), thresholds)
    assert [(a["code"], a["scope"]) for a in detail] == [("top10_share", "ETH")]
    relaxed = Thresholds(
        coverage_ratio_min=0.5, oi_cap_share_max=0.99, top10_share_max=0.95, exhaustion_probability_max=0.05
    )
    assert report_alerts(_content(coverage_ratio=0.8, exhaustion=0.03, top10=0.6, cap_share=0.95), relaxed) == []
    assert report_alerts(_content(coverage_ratio=None), thresholds) == []  # unbounded coverage: no loss at all


def test_schedule_thresholds_drive_the_report_alerts(protocol, daily_schedule):
    coverage_run_succeeded(
        fund=protocol.fund, finished_at=protocol.period.start + timedelta(hours=20), coverage_ratio=0.7, exhaustion=0.04
    )
    daily_schedule.top10_share_max = D("1")
    daily_schedule.save()
    report = exposure_report_generate(schedule=daily_schedule, period=protocol.period, requested_by="test").report
    assert [a["code"] for a in report.content["alerts"]] == ["coverage_ratio", "exhaustion_probability"]
    assert report.alert_count == 2
    assert "Coverage ratio 0.70 is below 1" in report.html


def test_a_period_that_has_not_ended_is_refused(daily_schedule):
    from riskgov.reports.services.reports import ReportError

    with pytest.raises(ReportError, match="has not ended"):
        exposure_report_generate(
            schedule=daily_schedule, period=period_parse("2999-01-01", "daily"), requested_by="test"
        )


def test_a_report_built_while_snapshots_fail_says_since_when(protocol, daily_schedule):
    market = Market.objects.order_by("symbol").first()
    with time_machine.travel(protocol.period.start + timedelta(hours=20), tick=False):
        huge_position(market)
        with pytest.raises(SnapshotError):
            exposure_snapshot()
    report = exposure_report_generate(schedule=daily_schedule, period=protocol.period, requested_by="test").report
    failing = report.content["snapshot_failing"]
    assert failing is not None and "beyond what a snapshot stores" in failing["error"]
    since = (protocol.period.start + timedelta(hours=20)).strftime("%Y-%m-%d %H:%M")
    assert f"snapshot failing since {since} UTC" in report.html


def test_a_report_of_a_period_before_the_failure_carries_no_warning(protocol, daily_schedule):
    with time_machine.travel(protocol.period.end + timedelta(hours=1), tick=False):
        huge_position(Market.objects.order_by("symbol").first())
        with pytest.raises(SnapshotError):
            exposure_snapshot()
    report = exposure_report_generate(schedule=daily_schedule, period=protocol.period, requested_by="test").report
    assert report.content["snapshot_failing"] is None and "snapshot failing" not in report.html
