"""PerpMarket on Anvil: positions through their life cycle, margin rules, liquidations, access control.

ETH-USD genesis: price 3000 (feed 8 decimals, market 1e18), imr 5 %, mmr 3 %, max leverage 20x,
penalty 1 %, OI cap 100 000 ETH per side.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from chain.client import ChainClient
from chain.deploy import DemoAccounts
from chain.units import market_id, to_fixed
from tests.chain.helpers import ONE, events, reverts, wad

ETH = market_id("ETH-USD")
SOL = market_id("SOL-USD")


@pytest.fixture
def trader(accounts: DemoAccounts) -> LocalAccount:
    return accounts.holders[0]


@pytest.fixture
def other(accounts: DemoAccounts) -> LocalAccount:
    return accounts.holders[1]


def set_price(client: ChainClient, feeds: dict[str, Contract], keeper: LocalAccount, symbol: str, price: str) -> None:
    client.transact(feeds[symbol].functions.updateAnswer(to_fixed(price, 8)), sender=keeper)


def open_position(
    client: ChainClient, perp: Contract, trader: LocalAccount, size: int, collateral: int, market: bytes = ETH
) -> int:
    receipt = client.transact(perp.functions.openPosition(market, size, collateral), sender=trader)
    return int(events(perp, "PositionOpened", receipt)[0]["positionId"])


def set_eth_parameters(client: ChainClient, registry: Contract, deployer: LocalAccount, **overrides: int) -> None:
    values = {
        "imr": wad("0.05"),
        "mmr": wad("0.03"),
        "maxLeverage": wad("20"),
        "penalty": wad("0.01"),
        "feeShare": wad("0.5"),
        "oiCap": wad("100000"),
        **overrides,
    }
    client.transact(registry.functions.setParameters(ETH, *values.values()), sender=deployer)


# ------------------------------------------------------------------ opening


def test_open_long_records_the_position_and_open_interest(
    client: ChainClient, perp: Contract, trader: LocalAccount
) -> None:
    receipt = client.transact(perp.functions.openPosition(ETH, wad(10), wad(3000)), sender=trader)
    assert events(perp, "PositionOpened", receipt) == [
        {
            "positionId": 1,
            "account": trader.address,
            "marketId": ETH,
            "size": wad(10),
            "entryPrice": wad(3000),
            "collateral": wad(3000),
            "price": wad(3000),
        }
    ]
    account, market, size, entry, collateral, opened_at = perp.functions.getPosition(1).call()
    assert (account, market, size, entry, collateral) == (trader.address, ETH, wad(10), wad(3000), wad(3000))
    assert opened_at > 0
    assert perp.functions.longOpenInterest(ETH).call() == wad(10)
    assert perp.functions.nextPositionId().call() == 2
    equity, notional, maintenance, liquidatable = perp.functions.positionHealth(1).call()
    assert (equity, notional, maintenance, liquidatable) == (wad(3000), wad(30000), wad(900), False)


def test_open_short_uses_a_negative_size(client: ChainClient, perp: Contract, trader: LocalAccount) -> None:
    position_id = open_position(client, perp, trader, -wad("2.5"), wad(1000))
    assert perp.functions.getPosition(position_id).call()[2] == -wad("2.5")
    assert perp.functions.shortOpenInterest(ETH).call() == wad("2.5")
    assert perp.functions.longOpenInterest(ETH).call() == 0


@pytest.mark.parametrize(
    ("size", "collateral", "error"),
    [
        (0, wad(100), "ZeroSize"),
        (wad(1), 0, "ZeroAmount"),
        (10**36 + 1, wad(100), "SizeTooLarge"),
        (-(10**36) - 1, wad(100), "SizeTooLarge"),
        (wad(1), 10**36 + 1, "CollateralTooLarge"),
    ],
)
def test_open_rejects_bad_input(
    client: ChainClient, perp: Contract, trader: LocalAccount, size: int, collateral: int, error: str
) -> None:
    with reverts(error):
        client.transact(perp.functions.openPosition(ETH, size, collateral), sender=trader)


def test_open_below_initial_margin_reverts(client: ChainClient, perp: Contract, trader: LocalAccount) -> None:
    # 10 ETH at 3000 = 30 000 notional needs 5 % = 1 500 of collateral.
    with reverts("InsufficientMargin", equity=wad(1499), required=wad(1500)):
        client.transact(perp.functions.openPosition(ETH, wad(10), wad(1499)), sender=trader)
    open_position(client, perp, trader, wad(10), wad(1500))


def test_max_leverage_can_be_stricter_than_initial_margin(
    client: ChainClient, perp: Contract, registry: Contract, trader: LocalAccount, accounts: DemoAccounts
) -> None:
    set_eth_parameters(client, registry, accounts.deployer, maxLeverage=wad(10))
    with reverts("LeverageTooHigh", notional=wad(30000), equity=wad(2000), maxLeverage=wad(10)):
        client.transact(perp.functions.openPosition(ETH, wad(10), wad(2000)), sender=trader)


def test_open_interest_cap_applies_per_side(
    client: ChainClient, perp: Contract, registry: Contract, trader: LocalAccount, accounts: DemoAccounts
) -> None:
    set_eth_parameters(client, registry, accounts.deployer, oiCap=wad(15))
    open_position(client, perp, trader, wad(10), wad(3000))
    with reverts("OpenInterestCapExceeded", marketId=ETH, openInterest=wad(20), oiCap=wad(15)):
        client.transact(perp.functions.openPosition(ETH, wad(10), wad(3000)), sender=trader)
    open_position(client, perp, trader, -wad(10), wad(3000))


def test_unlisted_and_unconfigured_markets_revert(
    client: ChainClient, perp: Contract, trader: LocalAccount, accounts: DemoAccounts
) -> None:
    doge = market_id("DOGE-USD")
    with reverts("MarketNotListed", marketId=doge):
        client.transact(perp.functions.openPosition(doge, wad(1), wad(1)), sender=trader)
    feed = client.deploy("PriceFeed", 8, "DOGE / USD", accounts.deployer.address, accounts.keeper.address,
                         sender=accounts.deployer)  # fmt: skip
    client.transact(client.contract("PriceFeed", feed).functions.updateAnswer(10**7), sender=accounts.keeper)
    client.transact(perp.functions.listMarket(doge, feed, 3600), sender=accounts.deployer)
    # Listed but without registry parameters: the registry's error surfaces through PerpMarket.
    with reverts("MarketNotConfigured", marketId=doge):
        client.transact(perp.functions.openPosition(doge, wad(1), wad(1)), sender=trader)


def test_stale_prices_are_refused(
    client: ChainClient,
    perp: Contract,
    feeds: dict[str, Contract],
    trader: LocalAccount,
    accounts: DemoAccounts,
) -> None:
    client.rpc("evm_increaseTime", 3601)
    client.rpc("evm_mine")
    with reverts("StalePrice", marketId=ETH):
        client.transact(perp.functions.openPosition(ETH, wad(1), wad(1000)), sender=trader)
    set_price(client, feeds, accounts.keeper, "ETH-USD", "3000")
    open_position(client, perp, trader, wad(1), wad(1000))


def test_feed_decimals_are_normalised_to_1e18(
    client: ChainClient, perp: Contract, feeds: dict[str, Contract], accounts: DemoAccounts
) -> None:
    set_price(client, feeds, accounts.keeper, "SOL-USD", "151.12345678")
    assert perp.functions.markPrice(SOL).call() == 151_123_456_780_000_000_000


# --------------------------------------------------------------- collateral


def test_add_and_remove_collateral(client: ChainClient, perp: Contract, trader: LocalAccount) -> None:
    position_id = open_position(client, perp, trader, wad(10), wad(3000))
    receipt = client.transact(perp.functions.addCollateral(position_id, wad(500)), sender=trader)
    assert events(perp, "CollateralChanged", receipt) == [
        {
            "positionId": position_id,
            "account": trader.address,
            "marketId": ETH,
            "size": wad(10),
            "entryPrice": wad(3000),
            "collateral": wad(3500),
            "collateralDelta": wad(500),
        }
    ]
    receipt = client.transact(perp.functions.removeCollateral(position_id, wad(2000)), sender=trader)
    assert events(perp, "CollateralChanged", receipt)[0]["collateralDelta"] == -wad(2000)
    assert perp.functions.getPosition(position_id).call()[4] == wad(1500)


def test_collateral_changes_reject_bad_input(client: ChainClient, perp: Contract, trader: LocalAccount) -> None:
    position_id = open_position(client, perp, trader, wad(10), wad(3000))
    with reverts("ZeroAmount"):
        client.transact(perp.functions.addCollateral(position_id, 0), sender=trader)
    with reverts("ZeroAmount"):
        client.transact(perp.functions.removeCollateral(position_id, 0), sender=trader)
    with reverts("InsufficientCollateral", collateral=wad(3000), amount=wad(3001)):
        client.transact(perp.functions.removeCollateral(position_id, wad(3001)), sender=trader)
    # Withdrawing may not take the position below initial margin (1 500 here).
    with reverts("InsufficientMargin", equity=wad(1499), required=wad(1500)):
        client.transact(perp.functions.removeCollateral(position_id, wad(1501)), sender=trader)
    with reverts("PositionNotFound", positionId=999):
        client.transact(perp.functions.addCollateral(999, wad(1)), sender=trader)


# ------------------------------------------------------------------- resize


def test_increase_averages_the_entry_price(
    client: ChainClient,
    perp: Contract,
    feeds: dict[str, Contract],
    trader: LocalAccount,
    accounts: DemoAccounts,
) -> None:
    position_id = open_position(client, perp, trader, wad(10), wad(3000))
    set_price(client, feeds, accounts.keeper, "ETH-USD", "3300")
    receipt = client.transact(perp.functions.resizePosition(position_id, wad(10)), sender=trader)
    (resized,) = events(perp, "PositionResized", receipt)
    assert resized["size"] == wad(20) and resized["entryPrice"] == wad(3150)
    assert (resized["sizeDelta"], resized["price"], resized["realizedPnl"]) == (wad(10), wad(3300), 0)
    assert resized["collateral"] == wad(3000)
    assert perp.functions.longOpenInterest(ETH).call() == wad(20)


def test_reduce_realises_pnl_into_collateral(
    client: ChainClient,
    perp: Contract,
    feeds: dict[str, Contract],
    trader: LocalAccount,
    accounts: DemoAccounts,
) -> None:
    position_id = open_position(client, perp, trader, wad(10), wad(3000))
    set_price(client, feeds, accounts.keeper, "ETH-USD", "3300")
    receipt = client.transact(perp.functions.resizePosition(position_id, -wad(5)), sender=trader)
    (resized,) = events(perp, "PositionResized", receipt)
    assert (resized["size"], resized["entryPrice"]) == (wad(5), wad(3000))
    assert resized["realizedPnl"] == wad(1500)  # 5 ETH x 300
    assert resized["collateral"] == wad(4500)
    assert perp.functions.longOpenInterest(ETH).call() == wad(5)


def test_short_reduce_realises_a_loss(
    client: ChainClient,
    perp: Contract,
    feeds: dict[str, Contract],
    trader: LocalAccount,
    accounts: DemoAccounts,
) -> None:
    position_id = open_position(client, perp, trader, -wad(4), wad(2000))
    set_price(client, feeds, accounts.keeper, "ETH-USD", "3100")
    receipt = client.transact(perp.functions.resizePosition(position_id, wad(1)), sender=trader)
    (resized,) = events(perp, "PositionResized", receipt)
    assert (resized["size"], resized["realizedPnl"], resized["collateral"]) == (-wad(3), -wad(100), wad(1900))


@pytest.mark.parametrize(
    ("delta", "error"),
    [
        (0, "ZeroSize"),
        (-wad(10), "InvalidResize"),
        (-wad(11), "InvalidResize"),
        (wad(200), "InsufficientMargin"),
    ],
)
def test_resize_rejects_bad_input(
    client: ChainClient, perp: Contract, trader: LocalAccount, delta: int, error: str
) -> None:
    position_id = open_position(client, perp, trader, wad(10), wad(3000))
    with reverts(error):
        client.transact(perp.functions.resizePosition(position_id, delta), sender=trader)


def test_reduce_that_leaves_the_position_under_maintenance_reverts(
    client: ChainClient,
    perp: Contract,
    feeds: dict[str, Contract],
    trader: LocalAccount,
    accounts: DemoAccounts,
) -> None:
    position_id = open_position(client, perp, trader, wad(10), wad(3000))
    set_price(client, feeds, accounts.keeper, "ETH-USD", "2750")  # equity 500 < maintenance 825
    with reverts("InsufficientMargin"):
        client.transact(perp.functions.resizePosition(position_id, -wad(1)), sender=trader)


# -------------------------------------------------------------------- close


def test_close_pays_out_collateral_plus_pnl(
    client: ChainClient,
    perp: Contract,
    feeds: dict[str, Contract],
    trader: LocalAccount,
    accounts: DemoAccounts,
) -> None:
    position_id = open_position(client, perp, trader, wad(10), wad(3000))
    set_price(client, feeds, accounts.keeper, "ETH-USD", "3300")
    receipt = client.transact(perp.functions.closePosition(position_id), sender=trader)
    assert events(perp, "PositionClosed", receipt) == [
        {
            "positionId": position_id,
            "account": trader.address,
            "marketId": ETH,
            "size": wad(10),
            "entryPrice": wad(3000),
            "collateral": wad(3000),
            "price": wad(3300),
            "realizedPnl": wad(3000),
            "payout": wad(6000),
        }
    ]
    assert perp.functions.longOpenInterest(ETH).call() == 0
    with reverts("PositionNotFound", positionId=position_id):
        client.call(perp.functions.getPosition(position_id))
    with reverts("PositionNotFound"):
        client.transact(perp.functions.closePosition(position_id), sender=trader)


def test_close_of_a_liquidatable_position_reverts(
    client: ChainClient,
    perp: Contract,
    feeds: dict[str, Contract],
    trader: LocalAccount,
    accounts: DemoAccounts,
) -> None:
    position_id = open_position(client, perp, trader, wad(10), wad(3000))
    set_price(client, feeds, accounts.keeper, "ETH-USD", "2750")
    with reverts("PositionLiquidatable", positionId=position_id, equity=wad(500), maintenanceMargin=wad(825)):
        client.transact(perp.functions.closePosition(position_id), sender=trader)


# --------------------------------------------------------------- ownership


@pytest.mark.parametrize(
    "call",
    [
        lambda perp, pid: perp.functions.addCollateral(pid, ONE),
        lambda perp, pid: perp.functions.removeCollateral(pid, ONE),
        lambda perp, pid: perp.functions.resizePosition(pid, ONE),
        lambda perp, pid: perp.functions.closePosition(pid),
    ],
    ids=["addCollateral", "removeCollateral", "resizePosition", "closePosition"],
)
def test_only_the_position_owner_changes_it(
    client: ChainClient, perp: Contract, trader: LocalAccount, other: LocalAccount, call: object
) -> None:
    position_id = open_position(client, perp, trader, wad(10), wad(3000))
    with reverts("NotPositionOwner", positionId=position_id, caller=other.address):
        client.transact(call(perp, position_id), sender=other)  # type: ignore[operator]


def test_listing_markets_needs_the_market_admin_role(
    client: ChainClient,
    perp: Contract,
    feeds: dict[str, Contract],
    other: LocalAccount,
    accounts: DemoAccounts,
) -> None:
    role = perp.functions.MARKET_ADMIN_ROLE().call()
    feed = feeds["ETH-USD"].address
    with reverts("AccessControlUnauthorizedAccount", account=other.address, neededRole=role):
        client.transact(perp.functions.listMarket(market_id("X-USD"), feed, 60), sender=other)
    with reverts("InvalidMarket"):
        client.transact(perp.functions.listMarket(bytes(32), feed, 60), sender=accounts.deployer)
    with reverts("InvalidMaxPriceAge"):
        client.transact(perp.functions.listMarket(market_id("X-USD"), feed, 0), sender=accounts.deployer)
    with reverts("ZeroAddress"):
        client.transact(perp.functions.listMarket(market_id("X-USD"), "0x" + "00" * 20, 60), sender=accounts.deployer)


# -------------------------------------------------------------- liquidation


def test_healthy_positions_cannot_be_liquidated(
    client: ChainClient, perp: Contract, trader: LocalAccount, other: LocalAccount
) -> None:
    position_id = open_position(client, perp, trader, wad(10), wad(3000))
    with reverts("PositionHealthy", positionId=position_id, equity=wad(3000), maintenanceMargin=wad(900)):
        client.transact(perp.functions.liquidate(position_id), sender=other)


def test_liquidation_charges_the_penalty_to_the_insurance_fund(
    client: ChainClient,
    perp: Contract,
    feeds: dict[str, Contract],
    trader: LocalAccount,
    other: LocalAccount,
    accounts: DemoAccounts,
) -> None:
    position_id = open_position(client, perp, trader, wad(10), wad(3000))
    set_price(client, feeds, accounts.keeper, "ETH-USD", "2750")
    assert perp.functions.positionHealth(position_id).call()[3] is True
    receipt = client.transact(perp.functions.liquidate(position_id), sender=other)
    assert events(perp, "PositionLiquidated", receipt) == [
        {
            "positionId": position_id,
            "account": trader.address,
            "marketId": ETH,
            "liquidator": other.address,
            "size": wad(10),
            "entryPrice": wad(3000),
            "collateral": wad(3000),
            "price": wad(2750),
            "penalty": wad(275),  # min(1 % x 27 500, equity 500)
            "badDebt": 0,
        }
    ]
    assert perp.functions.insuranceFund().call() == wad(275)
    assert perp.functions.longOpenInterest(ETH).call() == 0
    with reverts("PositionNotFound"):
        client.transact(perp.functions.liquidate(position_id), sender=other)


def test_bad_debt_is_absorbed_by_the_fund_then_left_uncovered(
    client: ChainClient,
    perp: Contract,
    feeds: dict[str, Contract],
    trader: LocalAccount,
    other: LocalAccount,
    accounts: DemoAccounts,
) -> None:
    first = open_position(client, perp, trader, wad(10), wad(3000))
    second = open_position(client, perp, other, wad(10), wad(3000))
    set_price(client, feeds, accounts.keeper, "ETH-USD", "2750")
    client.transact(perp.functions.liquidate(first), sender=other)  # fund: +275
    set_price(client, feeds, accounts.keeper, "ETH-USD", "2600")  # second: equity 3000 - 4000 = -1000
    receipt = client.transact(perp.functions.liquidate(second), sender=trader)
    (liquidated,) = events(perp, "PositionLiquidated", receipt)
    assert (liquidated["penalty"], liquidated["badDebt"]) == (0, wad(1000))
    assert perp.functions.insuranceFund().call() == 0
    assert perp.functions.uncoveredBadDebt().call() == wad(725)


def test_short_liquidation_price_matches_the_design_formula(
    client: ChainClient,
    perp: Contract,
    feeds: dict[str, Contract],
    trader: LocalAccount,
    accounts: DemoAccounts,
) -> None:
    """Short: liquidation price = (C + q e) / (q (1 + mmr)) = (1000 + 2 x 3000) / (2 x 1.03) = 3398.058..."""
    position_id = open_position(client, perp, trader, -wad(2), wad(1000))
    liquidation_price = (Decimal(1000) + 2 * Decimal(3000)) / (2 * Decimal("1.03"))
    set_price(client, feeds, accounts.keeper, "ETH-USD", str(liquidation_price - Decimal("0.0001")))
    assert perp.functions.positionHealth(position_id).call()[3] is False
    set_price(client, feeds, accounts.keeper, "ETH-USD", str(liquidation_price + Decimal("0.0001")))
    assert perp.functions.positionHealth(position_id).call()[3] is True
