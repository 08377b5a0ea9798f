"""Exposure snapshots: stored figures equal sums over positions; the task runs on a real worker."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from riskgov.markets.domain.position_math import position_risk
from riskgov.markets.models import PROTOCOL_SCOPE, ExposureSnapshot, PositionStatus
from riskgov.markets.services.exposure import exposure_snapshot_take
from tests.factories import (
    AccountFactory,
    MarginParametersFactory,
    MarketFactory,
    PositionFactory,
    PriceObservationFactory,
)

AT = datetime(2024, 6, 1, 12, tzinfo=UTC)


def build_protocol():
    eth, btc = MarketFactory(symbol="ETH"), MarketFactory(symbol="BTC")
    MarginParametersFactory(market=eth, mmr=D("0.01"))
    MarginParametersFactory(
        market=btc, mmr=D("0.005"), liquidation_penalty=D("0.002"), imr=D("0.01"), max_leverage=D("100")
    )
    PriceObservationFactory(market=eth, price=D("3000"), observed_at=datetime(2024, 6, 1, tzinfo=UTC))
    PriceObservationFactory(market=eth, price=D("2500"), observed_at=datetime(2024, 6, 2, tzinfo=UTC))  # after AT
    PriceObservationFactory(market=btc, price=D("60000"), observed_at=datetime(2024, 6, 1, tzinfo=UTC))
    whale, small = AccountFactory(), AccountFactory()
    rows = [
        (eth, whale, D("10"), D("2800"), D("3000")),
        (eth, small, D("-2"), D("2900"), D("400")),
        (eth, small, D("1"), D("3100"), D("60")),  # close to liquidation
        (btc, whale, D("0.5"), D("61000"), D("3000")),
        (btc, small, D("-0.1"), D("58000"), D("1000")),
    ]
    for market, account, size, entry, collateral in rows:
        PositionFactory(market=market, account=account, size=size, entry_price=entry, collateral=collateral)
    PositionFactory(market=eth, account=small, size=D("5"), status=PositionStatus.CLOSED)  # ignored
    return rows


@pytest.mark.django_db
def test_snapshot_figures_equal_sums_over_positions():
    rows = build_protocol()
    snapshots = {s.scope: s for s in exposure_snapshot_take(taken_at=AT)}
    assert set(snapshots) == {PROTOCOL_SCOPE, "ETH", "BTC"}
    marks = {"ETH": (D("3000"), D("0.01")), "BTC": (D("60000"), D("0.005"))}
    for scope in ("ETH", "BTC", PROTOCOL_SCOPE):
        chosen = [r for r in rows if scope == PROTOCOL_SCOPE or r[0].symbol == scope]
        risks = [
            (
                size,
                position_risk(
                    size=size,
                    entry_price=entry,
                    collateral=collateral,
                    price=marks[m.symbol][0],
                    mmr=marks[m.symbol][1],
                ),
            )
            for m, _, size, entry, collateral in chosen
        ]
        snap = snapshots[scope]
        assert snap.position_count == len(chosen)
        assert snap.oi_long == pytest.approx(sum(r.notional for s, r in risks if s > 0), rel=D("1e-12"))
        assert snap.oi_short == pytest.approx(sum(r.notional for s, r in risks if s < 0), rel=D("1e-12"))
        assert snap.collateral == pytest.approx(sum(c for *_, c in chosen), rel=D("1e-12"))
        near5 = [r for _, r in risks if r.distance_to_liquidation < D("0.05")]
        assert snap.near_liquidation["5"]["count"] == len(near5)
        assert snap.liquidatable_count == sum(1 for _, r in risks if r.liquidatable)
    assert snapshots["ETH"].mark_price == D("3000")  # the later 2,500 print is after the snapshot instant
    assert snapshots[PROTOCOL_SCOPE].account_count == 2


@pytest.mark.django_db
def test_snapshot_is_idempotent_per_instant():
    build_protocol()
    first = exposure_snapshot_take(taken_at=AT)
    second = exposure_snapshot_take(taken_at=AT)
    assert {s.pk for s in first} == {s.pk for s in second}
    assert ExposureSnapshot.objects.count() == 3


@pytest.mark.django_db
def test_empty_protocol_stores_a_zero_protocol_row():
    (snapshot,) = exposure_snapshot_take(taken_at=AT)
    assert snapshot.scope == PROTOCOL_SCOPE and snapshot.position_count == 0 and snapshot.oi_long == 0


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_snapshot_task_runs_on_a_real_worker(celery_worker_process):
    from riskgov.markets.tasks import exposure_snapshot

    build_protocol()
    result = exposure_snapshot.delay()
    assert result.get(timeout=60) == 3
    assert ExposureSnapshot.objects.filter(scope=PROTOCOL_SCOPE).count() == 1
