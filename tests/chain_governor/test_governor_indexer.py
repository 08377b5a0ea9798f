"""The indexer follows the Governor and its timelock into per-log rows; a reorg during voting leaves no
orphans; chain_deploy in on-chain mode records the Governor and hands the registry to the timelock."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from chain.governor import proposal_votes, relay_votes
from chain.models import (
    ChainDeployment,
    ChainEvent,
    ContractRole,
    GovernanceMode,
    GovernorProposal,
    GovernorProposalEvent,
    GovernorVote,
    IndexerCheckpoint,
    RegistryUpdate,
    TimelockEvent,
)
from chain.selectors.governor import (
    GovernorNotIndexed,
    governance_contracts,
    onchain_proposal,
    onchain_tally,
    onchain_votes,
    timelock_operations,
)
from chain.services.deployments import deployment_record, genesis_hash, protocol_deploy
from chain.services.indexer import IndexerConfig, deployment_index
from tests.chain.helpers import ONE
from tests.chain_governor.conftest import HOLDINGS, SPEC, GovChain
from tests.chain_governor.helpers import eth_payload, propose, signed

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CONFIG = IndexerConfig(block_range=2000, confirmations=0)
FOR, AGAINST = 1, 0


@pytest.fixture
def onchain(gov: GovChain, settings: object) -> ChainDeployment:
    settings.CHAIN_RPC_URL = gov.node.url
    settings.CHAIN_ID = gov.node.chain_id
    start = gov.client.rpc("eth_getBlockByNumber", hex(gov.protocol["deployment_block"] - 1), False)
    return deployment_record(
        addresses=gov.protocol,
        genesis=genesis_hash(gov.client),
        feed_decimals=dict.fromkeys(gov.protocol["price_feeds"], 8),
        start_hash=start["hash"],
        governance=gov.governance,
        spec=SPEC,
    )


def index(gov: GovChain, deployment: ChainDeployment) -> None:
    runs = deployment_index(deployment=deployment, client=gov.client, config=CONFIG)
    assert [run.error for run in runs if run.error] == []


def test_lifecycle_is_indexed_proposal_votes_queue_timelock_and_execution(gov: GovChain, onchain) -> None:
    assert onchain.governance_mode == GovernanceMode.ONCHAIN and onchain.onchain_governance
    assert {cp.role for cp in IndexerCheckpoint.objects.filter(deployment=onchain)} >= {"governor", "timelock"}
    w3, governor = gov.client.w3, gov.governor_address
    payload = eth_payload(gov)
    pid = payload.proposal_id
    propose(gov, payload)
    gov.mine(2)
    ballots = [signed(gov, h, pid, s, reason="why" if i == 1 else "") for i, (h, s) in
               enumerate(zip(gov.holders[:3], (FOR, AGAINST, FOR), strict=True))]  # fmt: skip
    relay_votes(w3, governor, gov.relayer, ballots)
    index(gov, onchain)

    (created,) = GovernorProposal.objects.all()
    assert (int(created.proposal_id), created.proposer) == (pid, gov.holders[0].address)
    assert (created.targets, created.calldatas, created.description) == (
        list(payload.targets), list(payload.calldatas), payload.description
    )  # fmt: skip
    assert created.values == ["0"]
    assert onchain_tally(pid) == proposal_votes(w3, governor, pid)
    assert onchain_tally(pid).for_ == (HOLDINGS[0] + HOLDINGS[2]) * ONE
    assert [(v.voter, v.support, v.weight, v.reason) for v in onchain_votes(pid)] == [
        (gov.holders[0].address, FOR, HOLDINGS[0] * ONE, ""),
        (gov.holders[1].address, AGAINST, HOLDINGS[1] * ONE, "why"),
        (gov.holders[2].address, FOR, HOLDINGS[2] * ONE, ""),
    ]
    assert onchain_proposal(pid).status == "created"

    gov.mine(SPEC.voting_period_blocks + 1)
    gov.client.transact(payload.queue_call(gov.governor), sender=gov.outsider)
    gov.client.rpc("evm_increaseTime", SPEC.timelock_delay_seconds)
    gov.mine(1)
    gov.client.transact(payload.execute_call(gov.governor), sender=gov.outsider)
    index(gov, onchain)

    projected = onchain_proposal(pid)
    assert projected.status == "executed" and projected.eta is not None and projected.executed_tx
    assert projected.deadline == created.vote_end and not projected.extended
    kinds = list(GovernorProposalEvent.objects.filter(proposal_id=pid).values_list("kind", flat=True))
    assert kinds == ["queued", "executed"]
    (scheduled, executed) = TimelockEvent.objects.order_by("block_number", "log_index")
    assert (scheduled.kind, executed.kind) == ("scheduled", "executed")
    assert scheduled.operation_id == executed.operation_id
    assert (scheduled.target, scheduled.data, scheduled.delay) == (
        gov.protocol["registry"], payload.calldatas[0], SPEC.timelock_delay_seconds
    )  # fmt: skip
    assert [e.kind for e in timelock_operations(scheduled.operation_id)] == ["scheduled", "executed"]
    # the parameter change itself arrives through the registry's own events
    assert RegistryUpdate.objects.filter(market_symbol="ETH-USD").order_by("-version").first().version == 2
    contracts = governance_contracts()
    assert (contracts.governor, contracts.timelock) == (gov.governor_address, gov.governance["timelock"])


def test_a_reorg_during_voting_leaves_no_orphan_rows(gov: GovChain, onchain) -> None:
    w3, governor = gov.client.w3, gov.governor_address
    payload = eth_payload(gov)
    pid = payload.proposal_id
    propose(gov, payload)
    gov.mine(2)
    index(gov, onchain)
    fork = gov.client.rpc("evm_snapshot")
    # the branch that will be orphaned: three votes For, and the late extension they do not trigger
    relay_votes(w3, governor, gov.relayer, [signed(gov, h, pid, FOR) for h in gov.holders[:3]])
    index(gov, onchain)
    assert GovernorVote.objects.count() == 3
    orphan_hashes = set(GovernorVote.objects.values_list("block_hash", flat=True))

    gov.client.rpc("evm_revert", fork)
    gov.mine(1)  # the canonical branch differs from the first block on
    relay_votes(w3, governor, gov.relayer, [signed(gov, h, pid, AGAINST) for h in gov.holders[3:5]])
    gov.mine(4)
    runs = deployment_index(deployment=onchain, client=gov.client, config=CONFIG)

    governor_run = next(run for run in runs if run.label == "Governor")
    assert governor_run.rollbacks and governor_run.orphaned_events == 3
    assert not GovernorVote.objects.filter(block_hash__in=orphan_hashes).exists()
    assert not ChainEvent.objects.filter(block_hash__in=orphan_hashes).exists()
    assert [(v.voter, v.support) for v in onchain_votes(pid)] == [
        (gov.holders[3].address, AGAINST),
        (gov.holders[4].address, AGAINST),
    ]
    assert onchain_tally(pid) == proposal_votes(w3, governor, pid)
    for vote in GovernorVote.objects.all():  # every row's block is canonical
        assert w3.eth.get_block(vote.block_number)["hash"].to_0x_hex() == vote.block_hash
    assert GovernorProposal.objects.count() == 1  # the proposal, below the fork, stays


def test_selectors_refuse_without_an_onchain_deployment(gov: GovChain, settings: object) -> None:
    settings.CHAIN_ID = gov.node.chain_id
    assert governance_contracts() is None
    with pytest.raises(GovernorNotIndexed, match="chain_deploy --governance onchain"):
        onchain_tally(1)


def test_chain_deploy_in_onchain_mode_records_the_governor_and_the_timelock_owns_the_registry(
    gov: GovChain, settings: object
) -> None:
    settings.CHAIN_RPC_URL = gov.node.url
    settings.CHAIN_ID = gov.node.chain_id
    settings.CHAIN_EXECUTOR_KEY = gov.deployer.key.hex()

    outcome = protocol_deploy(client=gov.client, governance_mode="onchain", spec=SPEC, config=CONFIG)

    deployment = outcome.deployment
    assert outcome.deployed and deployment.governance_mode == "onchain"
    assert deployment.governor_config == SPEC.as_dict()
    registry = gov.client.contract("RiskParameterRegistry", deployment.registry)
    assert registry.functions.owner().call() == deployment.timelock
    token = gov.client.contract("GovToken", deployment.gov_token)
    assert token.functions.owner().call() == deployment.timelock  # the executor cannot mint itself votes
    governor = gov.client.contract("RiskGovernor", deployment.governor)
    assert governor.functions.token().call() == deployment.gov_token
    assert governor.functions.timelock().call() == deployment.timelock
    assert (governor.functions.votingDelay().call(), governor.functions.votingPeriod().call()) == (1, 30)
    assert governor.functions.lateQuorumVoteExtension().call() == SPEC.late_quorum_extension_blocks
    assert governor.functions.quorumNumerator().call() == SPEC.quorum_numerator
    roles = set(IndexerCheckpoint.objects.filter(deployment=deployment).values_list("role", flat=True))
    assert {ContractRole.GOVERNOR, ContractRole.TIMELOCK} <= roles

    out = io.StringIO()
    call_command("chain_deploy", "--governance", "onchain", "--wait", "1", stdout=out)
    assert "Already deployed" in out.getvalue() and "(onchain governance)" in out.getvalue()
    assert deployment.governor in out.getvalue()
    assert ChainDeployment.objects.get().pk == deployment.pk
