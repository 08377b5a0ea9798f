"""RiskGovernor on Anvil: ballots signed with chain.eip712 under the Governor's domain, relayed, queued and
executed through the timelock that owns the registry; the guardian, late quorum and the timelock delay."""

from __future__ import annotations

import pytest
from web3 import Web3

from chain.deploy import GOVERNOR_NAME, TIMELOCK_ADMIN_ROLE
from chain.eip712 import BallotDomain, recover_ballot_signer
from chain.governor import (
    GovernorState,
    governor_domain,
    has_voted,
    proposal_deadline,
    proposal_eta,
    proposal_snapshot,
    proposal_state,
    proposal_votes,
    quorum_at,
    relay_votes,
    revert_reason,
    vote_nonce,
)
from chain.units import market_id
from tests.chain.helpers import ONE, events, reverts
from tests.chain_governor.conftest import HOLDINGS, SPEC, GovChain
from tests.chain_governor.helpers import NEW_ETH, NEW_ETH_OI_CAP, eth_payload, propose, propose_active, signed

pytestmark = [pytest.mark.integration]

AGAINST, FOR, ABSTAIN = 0, 1, 2


def test_governor_domain_and_by_sig_vote_accept_chain_eip712_signatures(gov: GovChain) -> None:
    w3, governor = gov.client.w3, gov.governor_address
    domain = BallotDomain(chain_id=gov.client.chain_id, verifying_contract=governor, name=GOVERNOR_NAME)
    assert governor_domain(w3, governor) == domain
    pid = propose_active(gov, eth_payload(gov))
    plain = signed(gov, gov.holders[1], pid, FOR)
    with_reason = signed(gov, gov.holders[2], pid, AGAINST, reason="too fast a step")
    assert recover_ballot_signer(plain.ballot, domain, plain.signature) == gov.holders[1].address

    results = relay_votes(w3, governor, gov.relayer, [plain, with_reason])

    assert [r.status for r in results] == ["counted", "counted"], [r.message for r in results]
    assert [r.weight for r in results] == [HOLDINGS[1] * ONE, HOLDINGS[2] * ONE]
    assert proposal_votes(w3, governor, pid).as_dict() == {
        "against": HOLDINGS[2] * ONE,
        "for": HOLDINGS[1] * ONE,
        "abstain": 0,
    }
    receipt = gov.client.w3.eth.get_transaction_receipt(results[1].tx_hash)
    reasons = {e["voter"]: e["reason"] for e in events(gov.governor, "VoteCast", receipt)}
    assert reasons == {gov.holders[1].address: "", gov.holders[2].address: "too fast a step"}  # one multicall
    # the Governor's nonces moved on: each voter's next ballot carries nonce 1
    assert vote_nonce(w3, governor, gov.holders[1].address) == 1
    assert vote_nonce(w3, governor, gov.holders[0].address) == 0


def test_a_ballot_for_another_governor_or_chain_is_rejected_on_chain(gov: GovChain) -> None:
    w3, governor = gov.client.w3, gov.governor_address
    pid = propose_active(gov, eth_payload(gov))
    voter = gov.holders[1]
    other_chain = BallotDomain(chain_id=1, verifying_contract=governor, name=GOVERNOR_NAME)
    other_contract = BallotDomain(  # the off-chain ballots' domain: the registry verifies
        chain_id=gov.client.chain_id, verifying_contract=gov.protocol["registry"], name=GOVERNOR_NAME
    )
    config = (1, 30, 0, 400, 10, "0x" + "00" * 20)
    second = gov.client.deploy("RiskGovernor", GOVERNOR_NAME, gov.protocol["gov_token"], gov.governance["timelock"],
                               config, sender=gov.deployer)  # fmt: skip
    other_governor = governor_domain(w3, second)
    assert other_governor.verifying_contract == second and other_governor.name == GOVERNOR_NAME
    wrong_chain = signed(gov, voter, pid, FOR, domain=other_chain)
    wrong_contract = signed(gov, voter, pid, FOR, domain=other_contract)
    wrong_governor = signed(gov, voter, pid, FOR, domain=other_governor)
    own_domain = BallotDomain(chain_id=gov.client.chain_id, verifying_contract=governor)
    # the off-chain check under the Governor's domain refuses them too
    for ballot in (wrong_chain, wrong_contract, wrong_governor):
        assert recover_ballot_signer(ballot.ballot, own_domain, ballot.signature) != voter.address

    results = relay_votes(w3, governor, gov.relayer, [wrong_chain, wrong_contract, wrong_governor])

    assert [r.status for r in results] == ["reverted", "reverted", "reverted"]
    assert {r.error for r in results} == {"GovernorInvalidSignature"}
    assert results[0].error_args == {"voter": voter.address}
    assert all(r.tx_hash == "" for r in results)  # refused in simulation: no gas spent
    assert not has_voted(w3, governor, pid, voter.address)
    assert proposal_votes(w3, governor, pid).total == 0


def test_full_lifecycle_propose_relay_queue_wait_execute_updates_the_registry(gov: GovChain) -> None:
    w3, governor = gov.client.w3, gov.governor_address
    payload = eth_payload(gov)
    receipt = propose(gov, payload)
    (created,) = events(gov.governor, "ProposalCreated", receipt)
    assert created["proposalId"] == payload.proposal_id
    assert gov.governor.functions.hashProposal(
        list(payload.targets), list(payload.values), [bytes.fromhex(c[2:]) for c in payload.calldatas],
        payload.description_hash,
    ).call() == payload.proposal_id  # fmt: skip
    pid = payload.proposal_id
    assert proposal_state(w3, governor, pid) is GovernorState.PENDING
    gov.mine(2)
    assert proposal_state(w3, governor, pid) is GovernorState.ACTIVE

    supports = (FOR, FOR, AGAINST, ABSTAIN, FOR, AGAINST)
    ballots = [signed(gov, holder, pid, s) for holder, s in zip(gov.holders, supports, strict=True)]
    results = relay_votes(w3, governor, gov.relayer, ballots, batch_size=4)
    assert [r.status for r in results] == ["counted"] * 6, [r.message for r in results]
    assert len({r.tx_hash for r in results}) == 2  # a multicall of four, then one of two

    # On-chain tally = a recount of the ballots with the holders' weights
    expected = {s: sum(h * ONE for h, x in zip(HOLDINGS, supports, strict=True) if x == s) for s in (0, 1, 2)}
    tally = proposal_votes(w3, governor, pid)
    assert (tally.against, tally.for_, tally.abstain) == (expected[AGAINST], expected[FOR], expected[ABSTAIN])
    snapshot = proposal_snapshot(w3, governor, pid)
    assert quorum_at(w3, governor, snapshot) == sum(HOLDINGS) * ONE * SPEC.quorum_numerator // 10_000
    # quorum was reached early: no late-quorum extension
    assert proposal_deadline(w3, governor, pid) == snapshot + SPEC.voting_period_blocks

    gov.mine(SPEC.voting_period_blocks)
    assert proposal_state(w3, governor, pid) is GovernorState.SUCCEEDED
    queued = gov.client.transact(payload.queue_call(gov.governor), sender=gov.outsider)  # anyone may queue
    assert proposal_state(w3, governor, pid) is GovernorState.QUEUED
    block_time = w3.eth.get_block(queued["blockNumber"])["timestamp"]
    assert proposal_eta(w3, governor, pid) == block_time + SPEC.timelock_delay_seconds

    gov.client.rpc("evm_increaseTime", SPEC.timelock_delay_seconds)
    gov.mine(1)
    executed = gov.client.transact(payload.execute_call(gov.governor), sender=gov.outsider)  # and execute

    assert proposal_state(w3, governor, pid) is GovernorState.EXECUTED
    (update,) = events(gov.registry, "ParametersUpdated", executed)
    assert update["marketId"] == market_id("ETH-USD")
    assert update["version"] == 2  # genesis was version 1
    stored = gov.registry.functions.getParameters(market_id("ETH-USD")).call()
    assert list(stored[:6]) == [
        6 * 10**16, 35 * 10**15, 15 * ONE, 12 * 10**15, 4 * 10**17, NEW_ETH_OI_CAP
    ]  # fmt: skip
    assert NEW_ETH["imr"] * ONE == stored[0]


def test_a_relayed_ballot_resent_is_skipped_and_not_counted_twice(gov: GovChain) -> None:
    w3, governor = gov.client.w3, gov.governor_address
    pid = propose_active(gov, eth_payload(gov))
    ballots = [signed(gov, holder, pid, FOR) for holder in gov.holders[:3]]
    first = relay_votes(w3, governor, gov.relayer, ballots)
    assert [r.status for r in first] == ["counted"] * 3
    tally = proposal_votes(w3, governor, pid)
    sent = w3.eth.get_transaction_count(gov.relayer.address)

    again = relay_votes(w3, governor, gov.relayer, [*ballots, ballots[0]])

    assert [r.status for r in again] == ["already_counted"] * 4
    assert all(r.tx_hash == "" for r in again)
    assert w3.eth.get_transaction_count(gov.relayer.address) == sent  # nothing sent
    assert proposal_votes(w3, governor, pid) == tally


def test_relay_orders_each_voters_ballots_by_nonce_and_isolates_a_bad_one(gov: GovChain) -> None:
    w3, governor = gov.client.w3, gov.governor_address
    first = propose_active(gov, eth_payload(gov, "first"))
    second = propose_active(gov, eth_payload(gov, "second"))
    voter, other = gov.holders[3], gov.holders[4]
    on_first = signed(gov, voter, first, FOR, nonce=0)
    on_second = signed(gov, voter, second, AGAINST, nonce=1)
    gap = signed(gov, other, second, FOR, nonce=5)
    forged = signed(gov, other, first, FOR)
    forged = type(forged)(forged.ballot, signed(gov, voter, first, FOR, nonce=0).signature)  # voter's signature

    results = relay_votes(w3, governor, gov.relayer, [on_second, gap, forged, on_first])

    assert [r.status for r in results] == ["counted", "skipped", "reverted", "counted"], [r.message for r in results]
    assert results[1].message == "nonce 5 is ahead of the voter's next Governor nonce 0"
    assert results[2].error == "GovernorInvalidSignature"
    assert (results[3].block_number or 0) < (results[0].block_number or 0)  # nonce 0 went first
    assert vote_nonce(w3, governor, voter.address) == 2
    assert proposal_votes(w3, governor, second).against == HOLDINGS[3] * ONE

    # a ballot whose nonce another vote already used is refused: the Governor signs over the current nonce
    (stale,) = relay_votes(w3, governor, gov.relayer, [signed(gov, voter, first, FOR, nonce=1)])
    assert stale.status == "already_counted"  # the voter has voted on the first proposal
    third = propose_active(gov, eth_payload(gov, "third"))
    (stale,) = relay_votes(w3, governor, gov.relayer, [signed(gov, voter, third, FOR, nonce=1)])
    assert (stale.status, stale.error, stale.tx_hash) == ("reverted", "GovernorInvalidSignature", "")
    assert stale.message.endswith(": signed with nonce 1, already used (the next is 2)")


def test_relay_one_transaction_per_ballot_mode(gov: GovChain) -> None:
    w3, governor = gov.client.w3, gov.governor_address
    pid = propose_active(gov, eth_payload(gov))
    ballots = [signed(gov, holder, pid, FOR) for holder in gov.holders[:3]]

    results = relay_votes(w3, governor, gov.relayer, ballots, multicall=False)

    assert [r.status for r in results] == ["counted"] * 3
    assert len({r.tx_hash for r in results}) == 3
    for result in results:
        assert result.gas_used == w3.eth.get_transaction_receipt(result.tx_hash)["gasUsed"]


def test_late_quorum_extends_the_deadline(gov: GovChain) -> None:
    w3, governor = gov.client.w3, gov.governor_address
    pid = propose_active(gov, eth_payload(gov))
    original = proposal_deadline(w3, governor, pid)
    gov.mine(original - w3.eth.block_number - 3)  # three blocks of voting left

    (result,) = relay_votes(w3, governor, gov.relayer, [signed(gov, gov.holders[5], pid, FOR)])

    assert result.status == "counted"
    assert result.block_number is not None
    extended = result.block_number + SPEC.late_quorum_extension_blocks
    assert proposal_deadline(w3, governor, pid) == extended > original
    receipt = w3.eth.get_transaction_receipt(result.tx_hash)
    assert [e["extendedDeadline"] for e in events(gov.governor, "ProposalExtended", receipt)] == [extended]
    gov.mine(original - w3.eth.block_number + 1)  # past the original deadline
    assert proposal_state(w3, governor, pid) is GovernorState.ACTIVE
    gov.mine(extended - w3.eth.block_number + 1)
    assert proposal_state(w3, governor, pid) is GovernorState.SUCCEEDED


def _queued(gov: GovChain, description: str = "Raise ETH-USD margins"):
    payload = eth_payload(gov, description)
    pid = propose_active(gov, payload)
    relay_votes(gov.client.w3, gov.governor_address, gov.relayer, [signed(gov, gov.holders[0], pid, FOR)])
    gov.mine(SPEC.voting_period_blocks + 1)
    receipt = gov.client.transact(payload.queue_call(gov.governor), sender=gov.outsider)
    return payload, receipt


def test_execution_before_the_timelock_delay_reverts_with_the_decoded_reason(gov: GovChain) -> None:
    payload, queued = _queued(gov)
    (scheduled,) = events(gov.timelock, "CallScheduled", queued)
    operation = scheduled["id"]
    salt = bytes(
        a ^ b
        for a, b in zip(
            bytes.fromhex(gov.governor_address[2:]).ljust(32, b"\x00"), payload.description_hash, strict=True
        )
    )  # GovernorTimelockControl's salt
    assert operation == gov.timelock.functions.hashOperationBatch(
        list(payload.targets), list(payload.values), [bytes.fromhex(c[2:]) for c in payload.calldatas],
        b"\x00" * 32, salt,
    ).call()  # fmt: skip

    with reverts("TimelockUnexpectedOperationState", operationId=operation) as info:
        gov.client.transact(payload.execute_call(gov.governor), sender=gov.outsider)

    assert info.value.args_by_name["expectedStates"] == (1 << 2).to_bytes(32, "big")  # Ready
    assert revert_reason(info.value.data).startswith("TimelockUnexpectedOperationState(operationId=0x")
    assert proposal_state(gov.client.w3, gov.governor_address, payload.proposal_id) is GovernorState.QUEUED


def test_the_guardian_cancels_during_the_timelock(gov: GovChain) -> None:
    payload, _ = _queued(gov)
    with reverts("GovernorUnableToCancel"):  # not the guardian
        gov.client.transact(payload.cancel_call(gov.governor), sender=gov.holders[0])

    receipt = gov.client.transact(payload.cancel_call(gov.governor), sender=gov.guardian)

    assert events(gov.governor, "ProposalCanceled", receipt) == [{"proposalId": payload.proposal_id}]
    assert len(events(gov.timelock, "Cancelled", receipt)) == 1
    assert proposal_state(gov.client.w3, gov.governor_address, payload.proposal_id) is GovernorState.CANCELED
    gov.client.rpc("evm_increaseTime", SPEC.timelock_delay_seconds + 1)
    gov.mine(1)
    with reverts("GovernorUnexpectedProposalState"):
        gov.client.transact(payload.execute_call(gov.governor), sender=gov.outsider)
    assert gov.registry.functions.versionOf(market_id("ETH-USD")).call() == 1


def test_no_server_key_can_change_the_registry_once_the_timelock_owns_it(gov: GovChain) -> None:
    registry, timelock = gov.registry, gov.timelock
    assert registry.functions.owner().call() == gov.governance["timelock"]
    with reverts("OwnableUnauthorizedAccount", account=gov.deployer.address):
        gov.client.transact(
            registry.functions.setParameters(market_id("ETH-USD"), 6 * 10**16, 3 * 10**16, 10 * ONE, 10**16, 0, ONE),
            sender=gov.deployer,
        )
    # the deployer kept no timelock role: it can neither schedule nor administer
    for role in (TIMELOCK_ADMIN_ROLE, timelock.functions.PROPOSER_ROLE().call()):
        assert not timelock.functions.hasRole(role, gov.deployer.address).call()
    assert timelock.functions.hasRole(timelock.functions.PROPOSER_ROLE().call(), gov.governor_address).call()
    assert timelock.functions.hasRole(TIMELOCK_ADMIN_ROLE, gov.governance["timelock"]).call()  # self-administered
    assert timelock.functions.hasRole(
        timelock.functions.EXECUTOR_ROLE().call(), Web3.to_checksum_address("0x" + "00" * 20)
    ).call()
    assert timelock.functions.getMinDelay().call() == SPEC.timelock_delay_seconds
