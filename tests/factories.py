"""factory-boy factories shared by the suite."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import factory
from eth_utils import keccak, to_checksum_address

from riskgov.core.models.versions import ChangeSource
from riskgov.markets.models import Account, MarginParameters, Market, Position, PriceObservation


def address_for(n: int) -> str:
    return str(to_checksum_address(keccak(text=f"account-{n}")[-20:]))


class MarketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Market
        django_get_or_create = ("symbol",)

    symbol = factory.Sequence(lambda n: f"MK{n}")
    name = factory.LazyAttribute(lambda m: f"{m.symbol} perpetual")
    depth = Decimal("50000000")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account
        django_get_or_create = ("address",)

    address = factory.Sequence(address_for)


class MarginParametersFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarginParameters

    market = factory.SubFactory(MarketFactory)
    version = 1
    imr = Decimal("0.02")
    mmr = Decimal("0.01")
    max_leverage = Decimal("50")
    liquidation_penalty = Decimal("0.005")
    insurance_fee_share = Decimal("0.2")
    oi_cap = Decimal("500000000")
    source = ChangeSource.GENESIS
    reason = "genesis"
    actor = "test"
    effective_at = factory.LazyFunction(lambda: datetime(2020, 1, 1, tzinfo=UTC))


class PriceObservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceObservation

    market = factory.SubFactory(MarketFactory)
    price = Decimal("3000")
    observed_at = factory.LazyFunction(lambda: datetime(2024, 1, 1, tzinfo=UTC))
    source = "test"


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position

    external_id = factory.Sequence(lambda n: f"pos-{n}")
    account = factory.SubFactory(AccountFactory)
    market = factory.SubFactory(MarketFactory)
    size = Decimal("1")
    entry_price = Decimal("3000")
    collateral = Decimal("600")
    opened_at = factory.LazyFunction(lambda: datetime(2024, 1, 1, tzinfo=UTC))
