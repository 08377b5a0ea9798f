"""PriceFeed: Chainlink AggregatorV3Interface reads, keeper-only updates, Chainlink event shapes."""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.contract import Contract

from chain.client import ChainClient
from chain.deploy import KEEPER_ROLE, DemoAccounts
from chain.units import to_fixed
from tests.chain.helpers import events, reverts


def test_reads_like_a_chainlink_feed(feeds: dict[str, Contract]) -> None:
    feed = feeds["ETH-USD"]
    assert feed.functions.decimals().call() == 8
    assert feed.functions.description().call() == "ETH / USD"
    assert feed.functions.version().call() == 4
    round_id, answer, started_at, updated_at, answered_in_round = feed.functions.latestRoundData().call()
    assert (round_id, answer, answered_in_round) == (1, 3000 * 10**8, 1)
    assert started_at == updated_at > 0
    assert feed.functions.latestAnswer().call() == 3000 * 10**8


def test_keeper_publishes_a_new_round(client: ChainClient, feeds: dict[str, Contract], accounts: DemoAccounts) -> None:
    feed = feeds["ETH-USD"]
    receipt = client.transact(feed.functions.updateAnswer(to_fixed("3123.45", 8)), sender=accounts.keeper)
    timestamp = client.w3.eth.get_block(receipt["blockNumber"])["timestamp"]

    assert events(feed, "AnswerUpdated", receipt) == [
        {"current": 312_345_000_000, "roundId": 2, "updatedAt": timestamp}
    ]
    assert events(feed, "NewRound", receipt) == [
        {"roundId": 2, "startedBy": accounts.keeper.address, "startedAt": timestamp}
    ]
    assert feed.functions.latestRoundData().call() == [2, 312_345_000_000, timestamp, timestamp, 2]
    assert feed.functions.getRoundData(1).call()[1] == 3000 * 10**8  # history is kept


def test_answer_updated_matches_chainlink_topics(feeds: dict[str, Contract]) -> None:
    abi: dict[str, Any] = next(dict(e) for e in feeds["ETH-USD"].abi if e.get("name") == "AnswerUpdated")
    assert [(i["name"], i["type"], i["indexed"]) for i in abi["inputs"]] == [
        ("current", "int256", True),
        ("roundId", "uint256", True),
        ("updatedAt", "uint256", False),
    ]
    assert Web3.keccak(text="AnswerUpdated(int256,uint256,uint256)").hex() == (
        "0559884fd3a460db3073b7fc896cc77986f16e378210ded43186175bf646fc5f"
    )


def test_only_keepers_update(client: ChainClient, feeds: dict[str, Contract], accounts: DemoAccounts) -> None:
    stranger = accounts.holders[0]
    with reverts("AccessControlUnauthorizedAccount", account=stranger.address, neededRole=KEEPER_ROLE):
        client.transact(feeds["ETH-USD"].functions.updateAnswer(1), sender=stranger)
    # The deployer handed the keeper role over at deployment and kept only the admin role.
    with reverts("AccessControlUnauthorizedAccount", account=accounts.deployer.address):
        client.transact(feeds["ETH-USD"].functions.updateAnswer(1), sender=accounts.deployer)


def test_admin_grants_the_keeper_role_and_strangers_cannot(
    client: ChainClient, feeds: dict[str, Contract], accounts: DemoAccounts
) -> None:
    feed = feeds["BTC-USD"]
    new_keeper, stranger = accounts.holders[:2]
    with reverts("AccessControlUnauthorizedAccount", account=stranger.address):
        client.transact(feed.functions.grantRole(KEEPER_ROLE, stranger.address), sender=stranger)
    client.transact(feed.functions.grantRole(KEEPER_ROLE, new_keeper.address), sender=accounts.deployer)
    client.transact(feed.functions.updateAnswer(61_000 * 10**8), sender=new_keeper)
    assert feed.functions.latestAnswer().call() == 61_000 * 10**8


def test_non_positive_answers_revert(client: ChainClient, feeds: dict[str, Contract], accounts: DemoAccounts) -> None:
    for answer in (0, -5):
        with reverts("InvalidAnswer", answer=answer):
            client.transact(feeds["ETH-USD"].functions.updateAnswer(answer), sender=accounts.keeper)


def test_unknown_rounds_and_empty_feeds_revert(
    client: ChainClient, feeds: dict[str, Contract], accounts: DemoAccounts
) -> None:
    with reverts("NoDataPresent"):
        client.call(feeds["ETH-USD"].functions.getRoundData(99))
    empty = client.contract(
        "PriceFeed",
        client.deploy(
            "PriceFeed",
            8,
            "NEW / USD",
            accounts.deployer.address,
            accounts.keeper.address,
            sender=accounts.deployer,
        ),
    )
    with reverts("NoDataPresent"):
        client.call(empty.functions.latestRoundData())


def test_constructor_rejects_a_zero_admin(client: ChainClient, accounts: DemoAccounts) -> None:
    with reverts("ZeroAddress"):
        client.deploy("PriceFeed", 8, "X / USD", "0x" + "00" * 20, accounts.keeper.address, sender=accounts.deployer)
