"""Fixtures for the Django side of the chain: one Anvil node per session with the protocol deployed
and the demo populated once, an ``evm_snapshot``/``evm_revert`` around every test, and the
deployment recorded in the test database.

The node's port is chosen when this file is imported and exported as ``CHAIN_RPC_URL`` so a Celery
worker started later by the suite talks to the same node. Without Anvil (``npm install``) these
tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from web3.contract import Contract

from chain.anvil import AnvilNode, find_anvil, free_port, start_anvil
from chain.client import ChainClient
from chain.deploy import DemoAccounts, DemoSummary, ProtocolAddresses, deploy_protocol, populate_demo
from chain.errors import AnvilError
from tests.chain.helpers import require

ANVIL_PORT = free_port()
ANVIL_URL = f"http://127.0.0.1:{ANVIL_PORT}"
os.environ["CHAIN_RPC_URL"] = ANVIL_URL  # inherited by the Celery worker process the suite starts


@dataclass(frozen=True)
class DemoChain:
    node: AnvilNode
    client: ChainClient
    accounts: DemoAccounts
    addresses: ProtocolAddresses
    summary: DemoSummary

    def contract(self, name: str, address: str) -> Contract:
        return self.client.contract(name, address)

    @property
    def token(self) -> Contract:
        return self.contract("GovToken", self.addresses["gov_token"])

    @property
    def perp(self) -> Contract:
        return self.contract("PerpMarket", self.addresses["perp_market"])

    @property
    def registry(self) -> Contract:
        return self.contract("RiskParameterRegistry", self.addresses["registry"])

    def feed(self, symbol: str) -> Contract:
        return self.contract("PriceFeed", self.addresses["price_feeds"][symbol])


@pytest.fixture(scope="session")
def indexer_anvil() -> Iterator[AnvilNode]:
    try:
        find_anvil()
    except AnvilError as exc:
        require(False, str(exc))
    node = start_anvil(port=ANVIL_PORT, accounts=40)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def demo_chain_session(indexer_anvil: AnvilNode) -> DemoChain:
    """The protocol deployed and the demo populated, once per session."""
    client = ChainClient.connect(indexer_anvil.url, chain_id=indexer_anvil.chain_id)
    accounts = DemoAccounts.from_mnemonic(30)
    addresses = deploy_protocol(client, accounts.deployer, keeper=accounts.keeper.address)
    summary = populate_demo(
        client, addresses, minter=accounts.deployer, keeper=accounts.keeper, holders=accounts.holders
    )
    return DemoChain(node=indexer_anvil, client=client, accounts=accounts, addresses=addresses, summary=summary)


@pytest.fixture
def demo_chain(demo_chain_session: DemoChain, settings: object) -> Iterator[DemoChain]:
    """The session's demo chain with its state rolled back after the test; settings point at it."""
    settings.CHAIN_RPC_URL = demo_chain_session.node.url
    settings.CHAIN_ID = demo_chain_session.node.chain_id
    settings.CHAIN_CONFIRMATIONS = 0
    settings.CHAIN_INDEXER_BLOCK_RANGE = 2000
    snapshot = demo_chain_session.client.rpc("evm_snapshot")
    try:
        yield demo_chain_session
    finally:
        demo_chain_session.client.rpc("evm_revert", snapshot)


def record(chain: DemoChain):
    """Record the demo deployment in the database (as chain_deploy does after deploying)."""
    from chain.services.deployments import deployment_record, genesis_hash

    start = chain.client.rpc("eth_getBlockByNumber", hex(chain.addresses["deployment_block"] - 1), False)
    return deployment_record(
        addresses=chain.addresses,
        genesis=genesis_hash(chain.client),
        feed_decimals=dict.fromkeys(chain.addresses["price_feeds"], 8),
        start_hash=start["hash"],
    )


@pytest.fixture
def deployment(demo_chain: DemoChain, db: None):
    return record(demo_chain)


@pytest.fixture
def committed_deployment(demo_chain: DemoChain, transactional_db: None):
    return record(demo_chain)
