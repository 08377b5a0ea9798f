"""Fixtures for the chain layer: one real Anvil node per session, the protocol deployed once, and an
``evm_snapshot``/``evm_revert`` around every test that uses ``client`` so tests stay independent.

Nothing here touches Django or the database. Without Anvil (``npm install``) the chain tests skip
locally and fail under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3.contract import Contract

from chain.anvil import AnvilNode, find_anvil, start_anvil
from chain.client import ChainClient
from chain.deploy import DemoAccounts, ProtocolAddresses, deploy_protocol
from chain.errors import AnvilError
from tests.chain.helpers import require


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[AnvilNode]:
    try:
        find_anvil()
    except AnvilError as exc:
        require(False, str(exc))
    node = start_anvil(accounts=40)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def accounts() -> DemoAccounts:
    """Dev account 0 deployer, 1 keeper, 2..31 holders (keys from Anvil's mnemonic)."""
    return DemoAccounts.from_mnemonic(30)


@pytest.fixture(scope="session")
def session_client(anvil_node: AnvilNode) -> ChainClient:
    return ChainClient.connect(anvil_node.url, chain_id=anvil_node.chain_id, timeout=10.0)


@pytest.fixture(scope="session")
def protocol(session_client: ChainClient, accounts: DemoAccounts) -> ProtocolAddresses:
    return deploy_protocol(session_client, accounts.deployer, keeper=accounts.keeper.address)


@pytest.fixture
def client(session_client: ChainClient, protocol: ProtocolAddresses) -> Iterator[ChainClient]:
    """The session client, with chain state rolled back after the test."""
    snapshot = session_client.rpc("evm_snapshot")
    try:
        yield session_client
    finally:
        session_client.rpc("evm_revert", snapshot)


@pytest.fixture
def token(client: ChainClient, protocol: ProtocolAddresses) -> Contract:
    return client.contract("GovToken", protocol["gov_token"])


@pytest.fixture
def registry(client: ChainClient, protocol: ProtocolAddresses) -> Contract:
    return client.contract("RiskParameterRegistry", protocol["registry"])


@pytest.fixture
def perp(client: ChainClient, protocol: ProtocolAddresses) -> Contract:
    return client.contract("PerpMarket", protocol["perp_market"])


@pytest.fixture
def feeds(client: ChainClient, protocol: ProtocolAddresses) -> dict[str, Contract]:
    return {symbol: client.contract("PriceFeed", address) for symbol, address in protocol["price_feeds"].items()}
