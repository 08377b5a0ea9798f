"""Governance against a real Anvil node: voting power equals getPastVotes, and execution updates the registry
exactly once (idempotent), leaving the proposal Queued with the error when the chain call fails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from chain.anvil import AnvilNode, find_anvil, free_port, start_anvil
from chain.client import ChainClient
from chain.deploy import DEFAULT_MARKETS, DemoAccounts
from chain.eip712 import Ballot, BallotDomain, sign_ballot
from chain.errors import AnvilError
from chain.units import from_fixed, market_id
from riskgov.core.models.versions import ChangeSource
from riskgov.governance.models import GovernanceSettings, Proposal, ProposalState, Vote
from riskgov.governance.selectors import chain_reads as governance_chain
from riskgov.governance.services.execution import ExecutionFailed, proposal_execute
from riskgov.governance.services.proposals import ChangeInput, proposal_create, proposal_states_sync
from riskgov.governance.services.votes import SignedBallot, vote_cast
from riskgov.markets.models import MarginParameters, Market
from riskgov.markets.services.parameters import margin_parameters_change
from tests.conftest import require_service

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
WAD = 10**18


@pytest.fixture(scope="module")
def node() -> Iterator[AnvilNode]:
    try:
        find_anvil()
    except AnvilError as exc:
        require_service(False, str(exc))
    anvil = start_anvil(accounts=40)
    try:
        yield anvil
    finally:
        anvil.stop()


@pytest.fixture
def deployed(settings: Any, node: AnvilNode) -> Iterator[dict[str, Any]]:
    from chain.services.deployments import protocol_deploy

    settings.CHAIN_RPC_URL, settings.CHAIN_ID, settings.RISKGOV_DEMO_MODE = node.url, 31337, True
    settings.CHAIN_EXECUTOR_KEY = ""
    governance_chain._client.cache_clear()
    governance_chain._token_checkpoint.cache_clear()
    client = ChainClient.connect(node.url, chain_id=31337)
    snapshot = client.rpc("evm_snapshot")
    try:
        outcome = protocol_deploy(client=client, demo=True)
        for spec in DEFAULT_MARKETS:
            market = Market.objects.get(symbol=spec.symbol.split("-")[0])
            margin_parameters_change(
                market=market, source=ChangeSource.GENESIS, reason="genesis", actor="test",
                changes={"imr": spec.imr, "mmr": spec.mmr, "max_leverage": spec.max_leverage,
                         "liquidation_penalty": spec.liquidation_penalty,
                         "insurance_fee_share": spec.insurance_fee_share, "oi_cap": Decimal("300000000")},
            )  # fmt: skip
        GovernanceSettings.objects.update_or_create(pk=1, defaults={
            "proposal_threshold": Decimal(100 * WAD), "voting_delay_seconds": 0, "voting_period_seconds": 3600,
            "quorum_fraction": Decimal("0.04"), "timelock_seconds": 600, "grace_period_seconds": 3600,
        })  # fmt: skip
        token = client.contract("GovToken", outcome.deployment.gov_token)
        registry = client.contract("RiskParameterRegistry", outcome.deployment.registry)
        yield {"client": client, "summary": outcome.demo, "token": token, "registry": registry,
               "accounts": DemoAccounts.from_mnemonic(30)}  # fmt: skip
    finally:
        client.rpc("evm_revert", snapshot)
        governance_chain._client.cache_clear()


def _key(accounts: DemoAccounts, address: str) -> Any:
    return next(h for h in accounts.holders if h.address == address)


def _create(env: dict[str, Any], changes: list[ChangeInput]) -> Proposal:
    token = env["token"]
    proposer = max(env["summary"]["self_delegated"], key=lambda a: token.functions.getVotes(a).call())
    return proposal_create(proposer=proposer, title="Tighten ETH", description="Raise the maintenance margin.",
                           changes=changes)  # fmt: skip


def _vote_for(env: dict[str, Any], proposal: Proposal, voters: list[str]) -> list[Vote]:
    domain = BallotDomain(chain_id=31337, verifying_contract=proposal.verifying_contract)
    votes = []
    for voter in voters:
        ballot = Ballot(proposal_id=proposal.pk, support=1, voter=voter, nonce=Vote.objects.filter(voter=voter).count())
        signature = sign_ballot(ballot, domain, _key(env["accounts"], voter).key)
        votes.append(vote_cast(ballot=SignedBallot(proposal.pk, 1, voter, ballot.nonce, signature)))
    return votes


def test_voting_power_equals_get_past_votes(deployed: dict[str, Any]) -> None:
    env, token = deployed, deployed["token"]
    proposal = _create(env, [ChangeInput("ETH", "mmr", Decimal("0.035"))])
    env["client"].rpc("evm_mine")  # getPastVotes needs the snapshot block to be in the past
    snapshot = int(proposal.snapshot_block)
    assert snapshot == env["client"].block_number - 1
    for holder in env["summary"]["holders"]:
        assert (
            governance_chain.voting_power_at(holder, snapshot) == token.functions.getPastVotes(holder, snapshot).call()
        )
    powers = governance_chain.voting_powers_at(env["summary"]["holders"], snapshot)
    assert powers == {h: token.functions.getPastVotes(h, snapshot).call() for h in env["summary"]["holders"]}
    assert int(proposal.total_supply) == token.functions.getPastTotalSupply(snapshot).call()
    voters = sorted(env["summary"]["self_delegated"])[:3]
    for vote in _vote_for(env, proposal, voters):
        assert int(vote.weight) == token.functions.getPastVotes(vote.voter, snapshot).call() > 0


def test_execution_is_idempotent_and_updates_the_registry(deployed: dict[str, Any], settings: Any) -> None:
    env, registry = deployed, deployed["registry"]
    proposal = _create(
        env, [ChangeInput("ETH", "mmr", Decimal("0.035")), ChangeInput("ETH", "max_leverage", Decimal("18"))]
    )
    _vote_for(env, proposal, sorted(env["summary"]["self_delegated"]))
    end = proposal.voting_ends_at + timedelta(seconds=1)
    with time_machine.travel(end, tick=False):
        assert proposal_states_sync()["queued"] == [proposal.pk]
    ready = end + timedelta(seconds=601)
    eth_id = market_id("ETH-USD")
    before = registry.functions.versionOf(eth_id).call()

    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens: the chain call fails
    governance_chain._client.cache_clear()
    with time_machine.travel(ready, tick=False), pytest.raises(ExecutionFailed):
        proposal_execute(proposal_id=proposal.pk)
    proposal.refresh_from_db()
    assert proposal.executed_at is None and proposal.execution_error and proposal.execution_attempts == 1
    with time_machine.travel(ready, tick=False):
        assert Proposal.objects.get(pk=proposal.pk).state == ProposalState.QUEUED
    assert MarginParameters.objects.filter(source=ChangeSource.PROPOSAL).count() == 0
    assert registry.functions.versionOf(eth_id).call() == before

    settings.CHAIN_RPC_URL = env["client"].rpc_url
    governance_chain._client.cache_clear()
    with time_machine.travel(ready, tick=False):
        executed = proposal_execute(proposal_id=proposal.pk)
        again = proposal_execute(proposal_id=proposal.pk)
    assert executed.state == again.state == ProposalState.EXECUTED and executed.execution_error == ""
    versions = MarginParameters.objects.filter(source=ChangeSource.PROPOSAL)
    assert versions.count() == 1
    version = versions.get()
    assert (version.mmr, version.max_leverage, version.proposal_ref) == (
        Decimal("0.035"),
        Decimal("18"),
        str(proposal.pk),
    )
    onchain = registry.functions.getParameters(eth_id).call()
    assert (from_fixed(onchain[1]), from_fixed(onchain[2])) == (Decimal("0.035"), Decimal("18"))
    assert registry.functions.versionOf(eth_id).call() == before + 1
    execution = proposal.executions.get()
    assert execution.tx_hash.startswith("0x") and execution.registry_version == before + 1
    assert execution.parameters == version


def test_a_push_without_a_recorded_receipt_is_not_sent_twice(deployed: dict[str, Any]) -> None:
    env, registry = deployed, deployed["registry"]
    proposal = _create(env, [ChangeInput("ETH", "mmr", Decimal("0.035"))])
    _vote_for(env, proposal, sorted(env["summary"]["self_delegated"]))
    Proposal.objects.filter(pk=proposal.pk).update(queued_at=timezone.now() - timedelta(seconds=700),
                                                   voting_ends_at=timezone.now() - timedelta(days=2),
                                                   voting_starts_at=timezone.now() - timedelta(days=3))  # fmt: skip
    eth_id = market_id("ETH-USD")
    current = registry.functions.getParameters(eth_id).call()
    executor = DemoAccounts.from_mnemonic(0).deployer
    env["client"].transact(registry.functions.setParameters(eth_id, current[0], int(Decimal("0.035") * WAD),
                                                            *current[2:6]), sender=executor)  # fmt: skip
    pushed = registry.functions.versionOf(eth_id).call()
    proposal_execute(proposal_id=proposal.pk)
    assert registry.functions.versionOf(eth_id).call() == pushed  # recognised, not sent again
    execution = proposal.executions.get()
    assert execution.registry_version == pushed and execution.tx_hash.startswith("0x")
    assert MarginParameters.objects.filter(source=ChangeSource.PROPOSAL).count() == 1
