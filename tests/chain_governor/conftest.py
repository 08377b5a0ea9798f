"""One Anvil node for the Governor tests: the protocol and a RiskGovernor deployed once, six token holders
self-delegated, and an ``evm_snapshot``/``evm_revert`` around every test so they stay independent.

The node is package-scoped (started on the first test of this directory, stopped after its last). Without
Anvil the tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from chain.anvil import AnvilNode, find_anvil, start_anvil
from chain.client import ChainClient
from chain.deploy import (
    DemoAccounts,
    GovernanceAddresses,
    GovernorSpec,
    ProtocolAddresses,
    deploy_governance,
    deploy_protocol,
)
from chain.errors import AnvilError
from tests.chain.helpers import ONE, require

# Whole tokens per holder: 2100 in all, so the 4 % quorum is 84 tokens and any one holder reaches it.
HOLDINGS = (600, 500, 400, 300, 200, 100)
SPEC = GovernorSpec(
    voting_delay_blocks=1,
    voting_period_blocks=30,
    proposal_threshold=100 * ONE,
    quorum_numerator=400,
    late_quorum_extension_blocks=10,
    timelock_delay_seconds=3600,
)


@dataclass(frozen=True)
class GovChain:
    node: AnvilNode
    client: ChainClient
    deployer: LocalAccount  # deployed everything; owned the registry until the timelock took it
    guardian: LocalAccount
    holders: list[LocalAccount]  # self-delegated, HOLDINGS tokens each
    relayer: LocalAccount  # pays for relayed ballots; holds no tokens
    outsider: LocalAccount  # no tokens, no role
    protocol: ProtocolAddresses
    governance: GovernanceAddresses

    @property
    def governor_address(self) -> str:
        return self.governance["governor"]

    @property
    def governor(self) -> Contract:
        return self.client.contract("RiskGovernor", self.governance["governor"])

    @property
    def timelock(self) -> Contract:
        return self.client.contract("RiskTimelock", self.governance["timelock"])

    @property
    def registry(self) -> Contract:
        return self.client.contract("RiskParameterRegistry", self.protocol["registry"])

    @property
    def token(self) -> Contract:
        return self.client.contract("GovToken", self.protocol["gov_token"])

    def mine(self, blocks: int) -> None:
        self.client.rpc("anvil_mine", hex(blocks))


def build_gov_chain(node: AnvilNode) -> GovChain:
    client = ChainClient.connect(node.url, chain_id=node.chain_id, timeout=10.0)
    accounts = DemoAccounts.from_mnemonic(8)
    deployer, guardian = accounts.deployer, accounts.keeper
    holders, relayer, outsider = accounts.holders[:6], accounts.holders[6], accounts.holders[7]
    protocol = deploy_protocol(client, deployer, keeper=guardian.address)
    token = client.contract("GovToken", protocol["gov_token"])
    for holder, amount in zip(holders, HOLDINGS, strict=True):
        client.transact(token.functions.mint(holder.address, amount * ONE), sender=deployer)
        client.transact(token.functions.delegate(holder.address), sender=holder)
    spec = GovernorSpec(**{**SPEC.__dict__, "guardian": guardian.address})
    governance = deploy_governance(
        client, deployer, token=protocol["gov_token"], registry=protocol["registry"], spec=spec
    )
    client.rpc("anvil_mine", hex(1))  # the holders' votes are checkpointed before any proposal's snapshot
    return GovChain(
        node=node,
        client=client,
        deployer=deployer,
        guardian=guardian,
        holders=holders,
        relayer=relayer,
        outsider=outsider,
        protocol=protocol,
        governance=governance,
    )


@pytest.fixture(scope="package")
def gov_anvil() -> Iterator[AnvilNode]:
    try:
        find_anvil()
    except AnvilError as exc:
        require(False, str(exc))
    node = start_anvil(accounts=10)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="package")
def gov_chain_package(gov_anvil: AnvilNode) -> GovChain:
    return build_gov_chain(gov_anvil)


@pytest.fixture
def gov(gov_chain_package: GovChain) -> Iterator[GovChain]:
    """The package's chain, rolled back after the test."""
    snapshot = gov_chain_package.client.rpc("evm_snapshot")
    try:
        yield gov_chain_package
    finally:
        gov_chain_package.client.rpc("evm_revert", snapshot)
