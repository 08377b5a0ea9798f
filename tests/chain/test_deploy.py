"""deploy_protocol and populate_demo against Anvil: roles, addresses, demo holders and positions."""

from __future__ import annotations

from web3 import Web3

from chain.client import ChainClient
from chain.deploy import (
    DEFAULT_MARKETS,
    KEEPER_ROLE,
    DemoAccounts,
    ProtocolAddresses,
    deploy_protocol,
    dev_accounts,
    populate_demo,
)
from chain.units import market_id
from tests.chain.helpers import reverts

ZERO = "0x" + "00" * 20


def test_dev_accounts_match_anvils_accounts(client: ChainClient) -> None:
    assert [account.address for account in dev_accounts(5)] == client.w3.eth.accounts[:5]


def test_deployment_wires_contracts_and_roles(
    client: ChainClient, protocol: ProtocolAddresses, accounts: DemoAccounts
) -> None:
    addresses = [
        protocol["gov_token"],
        protocol["registry"],
        protocol["perp_market"],
        *protocol["price_feeds"].values(),
    ]
    assert all(client.w3.eth.get_code(Web3.to_checksum_address(a)) for a in addresses)
    assert protocol["chain_id"] == 31337
    assert sorted(protocol["price_feeds"]) == sorted(spec.symbol for spec in DEFAULT_MARKETS)
    first_code = client.w3.eth.get_code(Web3.to_checksum_address(protocol["gov_token"]), protocol["deployment_block"])
    assert first_code  # the indexer may start at deployment_block
    perp = client.contract("PerpMarket", protocol["perp_market"])
    assert perp.functions.registry().call() == protocol["registry"]
    for spec in DEFAULT_MARKETS:
        feed_address, decimals, max_age, listed = perp.functions.markets(market_id(spec.symbol)).call()
        assert (feed_address, decimals, max_age, listed) == (
            protocol["price_feeds"][spec.symbol],
            8,
            3600,
            True,
        )
        feed = client.contract("PriceFeed", feed_address)
        assert feed.functions.hasRole(KEEPER_ROLE, accounts.keeper.address).call()
        assert not feed.functions.hasRole(KEEPER_ROLE, accounts.deployer.address).call()
    registry = client.contract("RiskParameterRegistry", protocol["registry"])
    assert registry.functions.owner().call() == accounts.deployer.address


def test_deployment_hands_the_registry_to_the_executor(client: ChainClient, accounts: DemoAccounts) -> None:
    executor = accounts.holders[0].address
    deployed = deploy_protocol(client, accounts.deployer, executor=executor, markets=DEFAULT_MARKETS[:1])
    registry = client.contract("RiskParameterRegistry", deployed["registry"])
    assert registry.functions.owner().call() == executor
    assert list(deployed["price_feeds"]) == ["ETH-USD"]


def test_demo_population_through_the_contracts(
    client: ChainClient, protocol: ProtocolAddresses, accounts: DemoAccounts
) -> None:
    summary = populate_demo(
        client, protocol, minter=accounts.deployer, keeper=accounts.keeper, holders=accounts.holders
    )
    token = client.contract("GovToken", protocol["gov_token"])
    perp = client.contract("PerpMarket", protocol["perp_market"])
    client.rpc("evm_mine")

    holders = summary["holders"]
    assert len(holders) >= 25
    balances = {holder: token.functions.balanceOf(holder).call() for holder in holders}
    assert all(balance > 0 for balance in balances.values())
    assert len(summary["self_delegated"]) >= 10 and len(summary["delegated_to_others"]) >= 5
    assert summary["undelegated"]
    for holder in summary["self_delegated"]:
        assert token.functions.delegates(holder).call() == holder
    for holder, delegate in summary["delegated_to_others"].items():
        assert token.functions.delegates(holder).call() == delegate != holder
    for holder in summary["undelegated"]:
        assert token.functions.delegates(holder).call() == ZERO
        assert token.functions.getVotes(holder).call() == 0
    delegated_supply = sum(b for h, b in balances.items() if h not in summary["undelegated"])
    votes = sum(token.functions.getPastVotes(h, summary["last_block"]).call() for h in holders)
    assert votes == delegated_supply

    opened = perp.events.PositionOpened().get_logs(from_block=summary["first_block"], to_block=summary["last_block"])
    all_ids = summary["open_position_ids"] + summary["closed_position_ids"] + summary["liquidated_position_ids"]
    assert sorted(log["args"]["positionId"] for log in opened) == sorted(all_ids)
    assert len(summary["open_position_ids"]) >= 15 and summary["closed_position_ids"]
    for position_id in summary["open_position_ids"]:
        assert perp.functions.getPosition(position_id).call()[0] in holders
    (liquidated,) = perp.events.PositionLiquidated().get_logs(from_block=summary["first_block"])
    assert liquidated["args"]["positionId"] == summary["liquidated_position_ids"][0]
    with reverts("PositionNotFound"):
        client.call(perp.functions.getPosition(summary["liquidated_position_ids"][0]))
    assert perp.functions.insuranceFund().call() > 0
    assert len(perp.events.PositionResized().get_logs(from_block=summary["first_block"])) > 0
    assert len(perp.events.CollateralChanged().get_logs(from_block=summary["first_block"])) > 0


def test_demo_population_is_deterministic(
    client: ChainClient, protocol: ProtocolAddresses, accounts: DemoAccounts
) -> None:
    holders = accounts.holders[:6]  # a small population keeps this quick
    snapshot = client.rpc("evm_snapshot")
    first = populate_demo(client, protocol, minter=accounts.deployer, keeper=accounts.keeper, holders=holders)
    client.rpc("evm_revert", snapshot)
    second = populate_demo(client, protocol, minter=accounts.deployer, keeper=accounts.keeper, holders=holders)
    assert first == second
