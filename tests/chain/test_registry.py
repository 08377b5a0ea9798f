"""RiskParameterRegistry: owner-only updates within on-chain bounds, versioned ParametersUpdated."""

from __future__ import annotations

import pytest
from web3.contract import Contract
from web3.types import TxReceipt

from chain.client import ChainClient, Sender
from chain.deploy import DEFAULT_MARKETS, DemoAccounts
from chain.units import market_id, to_fixed
from tests.chain.helpers import ONE, events, reverts, wad

ETH = market_id("ETH-USD")
VALID = {
    "imr": wad("0.1"),
    "mmr": wad("0.05"),
    "maxLeverage": wad("10"),
    "liquidationPenalty": wad("0.02"),
    "insuranceFeeShare": wad("0.3"),
    "oiCap": wad("50000"),
}


def _set(client: ChainClient, registry: Contract, sender: Sender, market: bytes = ETH, **overrides: int) -> TxReceipt:
    values = {**VALID, **overrides}
    return client.transact(
        registry.functions.setParameters(
            market,
            values["imr"],
            values["mmr"],
            values["maxLeverage"],
            values["liquidationPenalty"],
            values["insuranceFeeShare"],
            values["oiCap"],
        ),
        sender=sender,
    )


def test_genesis_parameters_are_version_one(registry: Contract) -> None:
    assert registry.functions.markets().call() == [market_id(spec.symbol) for spec in DEFAULT_MARKETS]
    for spec in DEFAULT_MARKETS:
        imr, mmr, max_leverage, penalty, fee_share, oi_cap, version, updated_at = registry.functions.getParameters(
            market_id(spec.symbol)
        ).call()
        assert (imr, mmr, max_leverage) == (
            to_fixed(spec.imr),
            to_fixed(spec.mmr),
            to_fixed(spec.max_leverage),
        )
        assert (penalty, fee_share, oi_cap) == (
            to_fixed(spec.liquidation_penalty),
            to_fixed(spec.insurance_fee_share),
            to_fixed(spec.oi_cap),
        )
        assert version == 1 and updated_at > 0


def test_update_bumps_the_version_and_emits_every_field(
    client: ChainClient, registry: Contract, accounts: DemoAccounts
) -> None:
    receipt = _set(client, registry, accounts.deployer)
    assert events(registry, "ParametersUpdated", receipt) == [{"marketId": ETH, "version": 2, **VALID}]
    assert registry.functions.versionOf(ETH).call() == 2
    assert list(registry.functions.getParameters(ETH).call()[:7]) == [*VALID.values(), 2]


def test_new_market_starts_at_version_one(client: ChainClient, registry: Contract, accounts: DemoAccounts) -> None:
    doge = market_id("DOGE-USD")
    assert not registry.functions.isConfigured(doge).call()
    receipt = _set(client, registry, accounts.deployer, market=doge)
    assert events(registry, "ParametersUpdated", receipt)[0]["version"] == 1
    assert registry.functions.isConfigured(doge).call()
    assert registry.functions.markets().call()[-1] == doge


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"liquidationPenalty": 0}, "InvalidLiquidationPenalty"),
        ({"liquidationPenalty": wad("0.05")}, "InvalidLiquidationPenalty"),  # == mmr
        ({"mmr": wad("0.1")}, "InvalidMaintenanceMargin"),  # == imr
        ({"mmr": wad("0.2")}, "InvalidMaintenanceMargin"),
        ({"imr": ONE + 1, "maxLeverage": ONE}, "InvalidInitialMargin"),
        ({"maxLeverage": ONE - 1}, "InvalidMaxLeverage"),
        ({"maxLeverage": wad("10") + 1}, "InvalidMaxLeverage"),  # maxLeverage * imr > 1
        ({"maxLeverage": 2**200}, "InvalidMaxLeverage"),  # would overflow the product check
        ({"insuranceFeeShare": ONE + 1}, "InvalidInsuranceFeeShare"),
        ({"oiCap": 0}, "InvalidOpenInterestCap"),
    ],
)
def test_out_of_bounds_parameters_revert(
    client: ChainClient, registry: Contract, accounts: DemoAccounts, overrides: dict[str, int], error: str
) -> None:
    with reverts(error):
        _set(client, registry, accounts.deployer, **overrides)
    assert registry.functions.versionOf(ETH).call() == 1


def test_boundary_values_are_accepted(client: ChainClient, registry: Contract, accounts: DemoAccounts) -> None:
    _set(client, registry, accounts.deployer, imr=ONE, mmr=ONE - 1, maxLeverage=ONE, insuranceFeeShare=ONE)
    _set(client, registry, accounts.deployer, imr=wad("0.05"), mmr=wad("0.03"), maxLeverage=wad("20"))
    assert registry.functions.versionOf(ETH).call() == 3


def test_zero_market_id_reverts(client: ChainClient, registry: Contract, accounts: DemoAccounts) -> None:
    with reverts("InvalidMarket"):
        _set(client, registry, accounts.deployer, market=bytes(32))


def test_only_the_owner_sets_parameters(client: ChainClient, registry: Contract, accounts: DemoAccounts) -> None:
    stranger = accounts.holders[0]
    with reverts("OwnableUnauthorizedAccount", account=stranger.address):
        _set(client, registry, stranger)


def test_ownership_moves_to_the_executor(client: ChainClient, registry: Contract, accounts: DemoAccounts) -> None:
    executor = accounts.holders[5]
    client.transact(registry.functions.transferOwnership(executor.address), sender=accounts.deployer)
    assert registry.functions.owner().call() == executor.address
    with reverts("OwnableUnauthorizedAccount", account=accounts.deployer.address):
        _set(client, registry, accounts.deployer)
    _set(client, registry, executor)
    assert registry.functions.versionOf(ETH).call() == 2


def test_unknown_market_has_no_parameters(client: ChainClient, registry: Contract) -> None:
    with reverts("MarketNotConfigured", marketId=market_id("NOPE")):
        client.call(registry.functions.getParameters(market_id("NOPE")))
    assert registry.functions.versionOf(market_id("NOPE")).call() == 0
