"""seed_demo builds the same protocol for the same seed, with valid parameters, and never duplicates."""

from __future__ import annotations

from decimal import Decimal as D
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from riskgov.demo.services.markets import DEMO_SYMBOLS
from riskgov.markets.models import Account, ExposureSnapshot, MarginParameters, Market, Position, PriceObservation
from riskgov.markets.services.guardrails import guardrails_check
from tests.factories import MarketFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the baseline coverage run reads the inputs its commit wrote

SMALL = ["--positions", "500", "--days", "10", "--snapshot-days", "1", "--no-progress"]


def seed(number: int, *extra: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--seed", str(number), *SMALL, *extra, stdout=out)
    return out.getvalue()


def fingerprint() -> list[tuple]:
    return list(
        Position.objects.order_by("external_id").values_list(
            "external_id", "account__address", "market__symbol", "size", "entry_price", "collateral", "status"
        )
    )


def test_small_run_counts_and_valid_parameters():
    output = seed(3)

    assert "Demo protocol seeded (seed 3)" in output
    assert set(Market.objects.values_list("symbol", flat=True)) == set(DEMO_SYMBOLS)
    # one market auto-deleverages, so the demo's coverage runs show the ADL section
    assert list(Market.objects.filter(loss_waterfall="adl").values_list("symbol", flat=True)) == ["SOL"]
    assert Position.objects.filter(status="open").count() == 500
    assert Position.objects.filter(status="closed").count() == 50
    assert Position.objects.filter(status="liquidated").count() == 12
    assert PriceObservation.objects.count() == len(DEMO_SYMBOLS) * 10 * 24
    assert Account.objects.count() == 100
    assert ExposureSnapshot.objects.filter(scope="ALL").count() == 25  # 24 hourly + now
    assert ExposureSnapshot.objects.count() == 25 * (len(DEMO_SYMBOLS) + 1)
    for market in Market.objects.all():
        params = MarginParameters.objects.get(market=market, version=1)  # later versions come from the demo policy
        assert params.version == 1 and params.source == "genesis"
        guardrails_check(
            market=market, current=None, proposed=params.values(), source="genesis", now=params.created_at
        )  # raises on any broken rule
        assert params.max_leverage * params.imr <= 1
    btc = MarginParameters.objects.get(market__symbol="BTC", version=1)
    assert (btc.imr, btc.mmr, btc.max_leverage) == (D("0.02"), D("0.01"), D("50"))
    latest = ExposureSnapshot.objects.filter(scope="ALL").latest("taken_at")
    assert latest.position_count == 500
    assert latest.liquidatable_count >= 1 and latest.near_liquidation["5"]["count"] >= 25
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and admin.check_password("admin")


def test_same_seed_same_protocol_and_no_duplicates():
    seed(11)
    first = fingerprint()
    addresses = set(Account.objects.values_list("address", flat=True))

    assert "already present" in seed(11)  # a second run without --reset changes nothing
    assert fingerprint() == first

    seed(11, "--reset")
    assert fingerprint() == first
    assert set(Account.objects.values_list("address", flat=True)) == addresses
    assert Market.objects.count() == len(DEMO_SYMBOLS)

    seed(12, "--reset")
    assert fingerprint() != first


def test_sizes_are_heavy_tailed_and_both_sides_present():
    seed(5)
    open_positions = Position.objects.filter(status="open")
    notionals = sorted(abs(size) * entry for size, entry in open_positions.values_list("size", "entry_price"))
    assert notionals[-1] > 50 * notionals[len(notionals) // 2]  # whales
    assert open_positions.filter(size__lt=0).exists() and open_positions.filter(size__gt=0).exists()


def test_refuses_to_overwrite_markets_it_did_not_create():
    MarketFactory(symbol="BTC")
    with pytest.raises(CommandError, match="other than the demo"):
        seed(1)
    assert Position.objects.count() == 0
