"""On-chain governance end to end at the app level, on Anvil with a real Celery worker.

A proposal is created through the guardrails and proposed from the proposer's wallet; ballots are signed by the
holders' wallets through the ballot API (the Governor's domain, its nonces), collected off-chain and relayed by
the worker; the Governor's tally equals the off-chain recount; a resent ballot is recognised, not counted twice;
anyone queues; execute before the timelock's delay is refused as the revert it is; after evm_increaseTime it
executes, and the parameter version appears only once the registry's ParametersUpdated is indexed. The executor
account can no longer change the registry.

The node listens on the port the suite exports as CHAIN_RPC_URL (tests.chain_indexer.conftest), so the session's
worker talks to it; a running suite node there is reused.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django_celery_beat.models import PeriodicTask
from eth_account import Account
from eth_account.messages import encode_typed_data
from hexbytes import HexBytes
from web3.exceptions import ContractLogicError

from chain import governor as chain_governor
from chain.anvil import AnvilNode, find_anvil, start_anvil
from chain.client import ChainClient, RetryPolicy
from chain.deploy import DEFAULT_MARKETS, DemoAccounts, dev_accounts
from chain.errors import AnvilError, ChainError, ContractReverted
from chain.models import GovernorProposalEvent, TimelockEvent
from chain.registry import registry_update_calldata
from chain.selectors.deployments import active_deployment
from chain.services.indexer import deployment_index
from chain.tasks import index_contract
from chain.units import from_fixed, market_id
from riskgov.core.models.versions import ChangeSource
from riskgov.governance.errors import ActionNotAllowed, ProposalRejected
from riskgov.governance.models import (
    GovernanceMode,
    GovernanceSettings,
    Proposal,
    ProposalState,
    Vote,
    VoteRelay,
    VoteRelayStatus,
)
from riskgov.governance.selectors import chain_reads as governance_chain
from riskgov.governance.selectors.onchain_tally import onchain_comparison
from riskgov.governance.selectors.proposals import proposal_recount
from riskgov.governance.services.execution import proposal_execute
from riskgov.governance.services.onchain import (
    proposal_onchain_sync,
    proposal_onchain_transaction,
    proposal_propose_confirm,
)
from riskgov.governance.services.onchain_relay import ballots_relay
from riskgov.governance.services.proposals import ChangeInput, proposal_create
from riskgov.governance.services.tick import governance_tick_run
from riskgov.markets.models import MarginParameters, Market
from riskgov.markets.services.parameters import margin_parameters_change
from tests.chain_indexer.conftest import ANVIL_PORT, ANVIL_URL
from tests.conftest import require_service

pytestmark = [pytest.mark.integration]
WAD = 10**18
VOTING_PERIOD_SECONDS = 120  # 10 blocks of 12 s
TIMELOCK_SECONDS = 600
RELAYER = dev_accounts(1, start=39)[0]  # a funded dev account that holds no tokens and no role
# The session's worker inherits this: it pays for relayed ballots (demo mode is off in the tests).
os.environ["CHAIN_RELAYER_KEY"] = HexBytes(RELAYER.key).to_0x_hex()


@pytest.fixture(scope="module")
def onchain_node() -> Iterator[str]:
    """Anvil on the suite's exported port: the running suite node when one answers, else one for this module."""
    try:
        ChainClient.connect(ANVIL_URL, chain_id=31337, timeout=2.0, retry=RetryPolicy(attempts=1))
    except ChainError:
        pass
    else:
        yield ANVIL_URL
        return
    try:
        find_anvil()
    except AnvilError as exc:
        require_service(False, str(exc))
    node: AnvilNode = start_anvil(port=ANVIL_PORT, accounts=40)
    try:
        yield node.url
    finally:
        node.stop()


@pytest.fixture
def onchain(
    request: pytest.FixtureRequest,
    settings: Any,
    onchain_node: str,
    transactional_db: None,
    celery_worker_process: Any,
) -> Iterator[Any]:
    """A fresh on-chain deployment (reverted afterwards). Indirect parameters change the Governor it deploys:
    ``{"guardian": address, "vote_extension_seconds": n}`` (defaults: no guardian, no late-quorum extension)."""
    from chain.services.deployments import protocol_deploy

    options: dict[str, Any] = getattr(request, "param", {})
    settings.RISKGOV_GOVERNANCE_VOTE_EXTENSION_SECONDS = options.get("vote_extension_seconds", 0)
    settings.CHAIN_RPC_URL, settings.CHAIN_ID, settings.RISKGOV_DEMO_MODE = onchain_node, 31337, True
    settings.CHAIN_EXECUTOR_KEY, settings.CHAIN_RELAYER_KEY = "", os.environ["CHAIN_RELAYER_KEY"]
    settings.RISKGOV_GOVERNANCE_MODE, settings.CHAIN_SECONDS_PER_BLOCK = GovernanceMode.ONCHAIN, 12
    governance_chain._client.cache_clear()
    governance_chain._token_checkpoint.cache_clear()
    client = ChainClient.connect(onchain_node, chain_id=31337)
    snapshot = client.rpc("evm_snapshot")
    try:
        GovernanceSettings.objects.update_or_create(pk=1, defaults={
            "proposal_threshold": Decimal(100 * WAD), "voting_delay_seconds": 0,
            "voting_period_seconds": VOTING_PERIOD_SECONDS, "quorum_fraction": Decimal("0.04"),
            "timelock_seconds": TIMELOCK_SECONDS, "grace_period_seconds": 3600,
            "guardian_address": options.get("guardian", ""),
        })  # fmt: skip
        outcome = protocol_deploy(client=client, demo=True, governance_mode=GovernanceMode.ONCHAIN)
        for spec in DEFAULT_MARKETS:
            margin_parameters_change(
                market=Market.objects.get(symbol=spec.symbol.split("-")[0]), source=ChangeSource.GENESIS,
                reason="genesis", actor="test",
                changes={"imr": spec.imr, "mmr": spec.mmr, "max_leverage": spec.max_leverage,
                         "liquidation_penalty": spec.liquidation_penalty,
                         "insurance_fee_share": spec.insurance_fee_share, "oi_cap": Decimal("300000000")},
            )  # fmt: skip
        deployment = outcome.deployment
        token = client.contract("GovToken", deployment.gov_token)
        holders = sorted(outcome.demo["self_delegated"], key=lambda a: token.functions.getVotes(a).call(), reverse=True)
        yield {
            "client": client, "deployment": deployment, "holders": holders, "token": token,
            "governor": client.contract("RiskGovernor", deployment.governor),
            "registry": client.contract("RiskParameterRegistry", deployment.registry),
            "keys": {h.address: h for h in DemoAccounts.from_mnemonic(30).holders},
        }  # fmt: skip
    finally:
        client.rpc("evm_revert", snapshot)
        governance_chain._client.cache_clear()


def _wallet_send(client: ChainClient, sender: str, tx: dict[str, str]) -> str:
    """What a wallet does with eth_sendTransaction (Anvil's dev accounts are unlocked); returns the hash."""
    tx_hash = client.w3.eth.send_transaction({"from": sender, "to": tx["to"], "data": tx["data"]})  # type: ignore[typeddict-item]
    receipt = client.w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return HexBytes(tx_hash).to_0x_hex()


def _index(env: dict[str, Any]) -> None:
    deployment_index(deployment=active_deployment(), client=env["client"])
    governance_chain._token_checkpoint.cache_clear()


def _ballot_body(http: Client, env: dict[str, Any], proposal: Proposal, voter: str, support: int, reason: str = ""):
    """The wallet's path: typed data from the ballot API, signed with eth_signTypedData_v4 semantics."""
    query = {"voter": voter, "support": support, **({"reason": reason} if reason else {})}
    typed = http.get(f"/governance/api/proposals/{proposal.pk}/ballot/", query).json()
    signature = Account.sign_message(encode_typed_data(full_message=typed), env["keys"][voter].key).signature
    body = {"voter": voter, "support": support, "nonce": typed["message"]["nonce"],
            "signature": HexBytes(signature).to_0x_hex(), "chain_id": typed["domain"]["chainId"],
            "verifying_contract": typed["domain"]["verifyingContract"]}  # fmt: skip
    return typed, {**body, "reason": reason} if reason else body


def _wait_relayed(proposal: Proposal, count: int, timeout: float = 30.0) -> list[VoteRelay]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        relays = list(VoteRelay.objects.filter(vote__proposal=proposal).select_related("vote"))
        if len(relays) == count and all(r.status == VoteRelayStatus.COUNTED for r in relays):
            return relays
        time.sleep(0.2)
    raise AssertionError(
        f"ballots not relayed by the worker: {[(r.vote.voter, r.status, r.revert_reason) for r in relays]}"
    )


def test_onchain_lifecycle_propose_relay_queue_timelock_execute(onchain: dict[str, Any]) -> None:
    env, http = onchain, Client()
    client, governor, registry = env["client"], env["governor"], env["registry"]
    proposer, voters = env["holders"][0], env["holders"][:3]
    anyone = env["holders"][-1]

    # Creation: the guardrails refuse a bad change and nothing is written; a good one gets the Governor's payload.
    with pytest.raises(ProposalRejected) as refused:
        proposal_create(proposer=proposer, title="Too far", description="x",
                        changes=[ChangeInput("ETH", "mmr", Decimal("0.5"))])  # fmt: skip
    assert refused.value.code == "guardrail_violation" and Proposal.objects.count() == 0
    proposal = proposal_create(proposer=proposer, title="Tighten ETH", description="Raise the maintenance margin.",
                               changes=[ChangeInput("ETH", "mmr", Decimal("0.035"))])  # fmt: skip
    payload = chain_governor.ProposalPayload.from_json(proposal.onchain_payload)
    targets = proposal.onchain_payload["markets"][0]["registry_values"]
    assert proposal.governance_mode == GovernanceMode.ONCHAIN and proposal.verifying_contract == governor.address
    assert payload.targets == (registry.address,) and payload.calldatas == (
        registry_update_calldata("ETH-USD", targets),
    )
    assert from_fixed(int(targets["mmr"])) == Decimal("0.035")
    assert int(proposal.onchain_proposal_id) == payload.proposal_id == governor.functions.hashProposal(
        list(payload.targets), list(payload.values), [bytes(HexBytes(c)) for c in payload.calldatas],
        payload.description_hash,
    ).call()  # fmt: skip

    # The proposer's wallet sends propose; the app records it from the receipt.
    prepared = proposal_onchain_transaction(proposal_id=proposal.pk, action="propose", sender=proposer)
    assert not prepared.reverts
    propose_hash = _wallet_send(client, proposer, prepared.as_dict())
    proposal = proposal_propose_confirm(proposal_id=proposal.pk, tx_hash=propose_hash)
    assert proposal.propose_tx_hash == propose_hash
    assert proposal.snapshot_block == governor.functions.proposalSnapshot(payload.proposal_id).call()
    client.rpc("evm_mine")  # voting opens the block after the snapshot
    _index(env)

    # Ballots collected off-chain through the API; the worker relays them as they are accepted.
    supports = {voters[0]: 1, voters[1]: 1, voters[2]: 0}
    for voter, support in supports.items():
        typed, body = _ballot_body(http, env, proposal, voter, support, reason="Volatility is up" if support else "")
        assert typed["domain"] == {"name": "RiskGov", "version": "1", "chainId": 31337,
                                   "verifyingContract": governor.address}  # fmt: skip
        assert typed["message"]["proposalId"] == str(payload.proposal_id)  # a string: JavaScript rounds big numbers
        assert typed["message"]["nonce"] == governor.functions.nonces(voter).call()
        response = http.post(f"/governance/api/proposals/{proposal.pk}/votes/", body, content_type="application/json")
        assert response.status_code == 201, response.content

    # A ballot signed for another contract (the registry, the off-chain domain) is refused by the app.
    outsider = env["holders"][3]
    _, body = _ballot_body(http, env, proposal, outsider, 1)
    body["verifying_contract"] = registry.address
    refused_other = http.post(f"/governance/api/proposals/{proposal.pk}/votes/", body, content_type="application/json")
    assert refused_other.status_code == 400 and refused_other.json()["error"]["code"] == "wrong_domain"
    assert governor.address in refused_other.json()["error"]["message"]

    relays = _wait_relayed(proposal, 3)
    assert all(r.tx_hash.startswith("0x") and r.gas_used and r.relayer == RELAYER.address for r in relays)
    onchain_tally = chain_governor.proposal_votes(client.w3, governor.address, payload.proposal_id)
    recount = proposal_recount(Proposal.objects.get(pk=proposal.pk))
    weights = {v.voter: int(v.weight) for v in Vote.objects.filter(proposal=proposal)}
    assert (onchain_tally.for_, onchain_tally.against, onchain_tally.abstain) == (
        recount.counted["for"], recount.counted["against"], recount.counted["abstain"],
    ) == (weights[voters[0]] + weights[voters[1]], weights[voters[2]], 0)  # fmt: skip
    assert recount.source == "chain" and not recount.invalid_signatures and not recount.weight_mismatches

    # A relayed ballot sent again is recognised (hasVoted) and not counted twice.
    VoteRelay.objects.filter(vote__voter=voters[0]).update(status=VoteRelayStatus.PENDING)
    assert ballots_relay(proposal_id=proposal.pk) == {VoteRelayStatus.ALREADY_COUNTED: 1}
    assert chain_governor.proposal_votes(client.w3, governor.address, payload.proposal_id) == onchain_tally
    _index(env)
    comparison = onchain_comparison(proposal)
    assert comparison is not None and comparison.matches and comparison.onchain.votes == 3

    # Voting ends on chain; anyone queues from their wallet.
    client.rpc("anvil_mine", hex(VOTING_PERIOD_SECONDS // 12 + 1))
    assert proposal_onchain_sync(proposal_id=proposal.pk).state == ProposalState.SUCCEEDED
    with pytest.raises(ActionNotAllowed):
        proposal_execute(proposal_id=proposal.pk)  # the app has no way to execute it itself
    queue = proposal_onchain_transaction(proposal_id=proposal.pk, action="queue", sender=anyone)
    assert not queue.reverts
    _wallet_send(client, anyone, queue.as_dict())
    queued = proposal_onchain_sync(proposal_id=proposal.pk)
    eta = governor.functions.proposalEta(payload.proposal_id).call()
    assert queued.state == ProposalState.QUEUED and int(queued.eta.timestamp()) == eta

    # Execute before the timelock's delay: shown as the revert, not sent.
    early = proposal_onchain_transaction(proposal_id=proposal.pk, action="execute", sender=anyone)
    assert early.reverts and early.revert_error == "TimelockUnexpectedOperationState", early
    assert "delay has not passed" in early.revert_message

    client.rpc("evm_increaseTime", TIMELOCK_SECONDS + 1)
    client.rpc("evm_mine")
    ready = proposal_onchain_transaction(proposal_id=proposal.pk, action="execute", sender=anyone)
    assert not ready.reverts
    execute_hash = _wallet_send(client, anyone, ready.as_dict())
    # executed on chain, but until the registry's event is indexed the database claims no new version
    assert proposal_onchain_sync(proposal_id=proposal.pk).state == ProposalState.EXECUTED
    assert not MarginParameters.objects.filter(source=ChangeSource.PROPOSAL).exists()
    _index(env)
    governance_tick_run()
    executed = Proposal.objects.get(pk=proposal.pk)
    version = MarginParameters.objects.get(source=ChangeSource.PROPOSAL)
    assert (
        executed.executed_at is not None
        and version.mmr == Decimal("0.035")
        and version.proposal_ref == str(proposal.pk)
    )
    execution = executed.executions.get()
    assert execution.tx_hash == execute_hash and execution.parameters == version
    onchain_params = registry.functions.getParameters(market_id("ETH-USD")).call()
    assert from_fixed(onchain_params[1]) == Decimal("0.035") and execution.registry_version == onchain_params[6]
    governance_tick_run()  # again: nothing more is written
    assert MarginParameters.objects.filter(source=ChangeSource.PROPOSAL).count() == 1

    # No server key can change parameters: the executor account's setParameters reverts.
    executor = DemoAccounts.from_mnemonic(0).deployer
    with pytest.raises(ContractReverted) as reverted:
        client.transact(registry.functions.setParameters(market_id("ETH-USD"), *onchain_params[:6]), sender=executor)
    assert reverted.value.error == "OwnableUnauthorizedAccount"


GUARDIAN = dev_accounts(1, start=38)[0]  # an unlocked dev account with no tokens: the proposal guardian


def _proposed_onchain(
    env: dict[str, Any], title: str, mmr: str, *, index: bool = True
) -> tuple[Proposal, chain_governor.ProposalPayload]:
    """A proposal created through the guardrails and proposed from its proposer's wallet; voting is open (and the
    snapshot indexed unless `index` is false)."""
    proposer = env["holders"][0]
    proposal = proposal_create(proposer=proposer, title=title, description=f"Set the ETH maintenance margin to {mmr}.",
                               changes=[ChangeInput("ETH", "mmr", Decimal(mmr))])  # fmt: skip
    prepared = proposal_onchain_transaction(proposal_id=proposal.pk, action="propose", sender=proposer)
    proposal = proposal_propose_confirm(
        proposal_id=proposal.pk, tx_hash=_wallet_send(env["client"], proposer, prepared.as_dict())
    )
    env["client"].rpc("evm_mine")  # voting opens the block after the snapshot
    if index:
        _index(env)
    return proposal, chain_governor.ProposalPayload.from_json(proposal.onchain_payload)


def _vote(http: Client, env: dict[str, Any], proposal: Proposal, voter: str, support: int = 1) -> None:
    _, body = _ballot_body(http, env, proposal, voter, support)
    response = http.post(f"/governance/api/proposals/{proposal.pk}/votes/", body, content_type="application/json")
    assert response.status_code == 201, response.content


def _page(http: Client, proposal: Proposal) -> str:
    response = http.get(f"/governance/{proposal.pk}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("onchain", [{"guardian": GUARDIAN.address}], indirect=True)
def test_guardian_cancel_during_the_timelock_is_the_veto_and_changes_no_parameters(onchain: dict[str, Any]) -> None:
    env, http = onchain, Client()
    client, governor, registry = env["client"], env["governor"], env["registry"]
    anyone = env["holders"][-1]
    proposal, payload = _proposed_onchain(env, "Tighten ETH", "0.035")
    _vote(http, env, proposal, env["holders"][0])
    _wait_relayed(proposal, 1)
    client.rpc("anvil_mine", hex(VOTING_PERIOD_SECONDS // 12 + 1))
    _wallet_send(client, anyone, proposal_onchain_transaction(proposal_id=proposal.pk, action="queue",
                                                             sender=anyone).as_dict())  # fmt: skip
    assert proposal_onchain_sync(proposal_id=proposal.pk).state == ProposalState.QUEUED
    before = registry.functions.getParameters(market_id("ETH-USD")).call()

    # Only the guardian may cancel a queued proposal: anyone else's cancel reverts.
    cancel = payload.cancel_tx(governor.address)
    with pytest.raises(ContractLogicError):
        client.w3.eth.call({"from": anyone, "to": cancel["to"], "data": cancel["data"]})
    cancel_hash = _wallet_send(client, GUARDIAN.address, cancel)
    _index(env)
    vetoed = proposal_onchain_sync(proposal_id=proposal.pk)
    assert vetoed.state == ProposalState.VETOED and vetoed.vetoed_at is not None
    assert vetoed.vetoed_by == "guardian (on chain)" and "during the timelock" in vetoed.veto_reason
    assert chain_governor.proposal_state(client.w3, governor.address, payload.proposal_id) == (
        chain_governor.GovernorState.CANCELED
    )
    events = GovernorProposalEvent.objects.filter(proposal_id=Decimal(payload.proposal_id))
    assert [(e.kind, e.tx_hash) for e in events if e.kind == "canceled"] == [("canceled", cancel_hash)]
    assert TimelockEvent.objects.filter(kind="cancelled", tx_hash=cancel_hash).exists()
    page = _page(http, vetoed)
    assert '<span class="state state-vetoed" id="proposal-state">Vetoed</span>' in page
    assert "Vetoed by the guardian" in page and "guardian (on chain)" in page

    # After the delay the timelock refuses to execute it; no parameter version, the registry is as it was.
    client.rpc("evm_increaseTime", TIMELOCK_SECONDS + 1)
    client.rpc("evm_mine")
    late = proposal_onchain_transaction(proposal_id=proposal.pk, action="execute", sender=anyone)
    assert late.reverts and late.revert_error == "GovernorUnexpectedProposalState", late
    _index(env)
    governance_tick_run()
    assert Proposal.objects.get(pk=proposal.pk).state == ProposalState.VETOED
    assert not MarginParameters.objects.filter(source=ChangeSource.PROPOSAL).exists()
    assert MarginParameters.objects.filter(market__symbol="ETH").latest("pk").mmr == from_fixed(before[1])
    assert registry.functions.getParameters(market_id("ETH-USD")).call() == before


@pytest.mark.parametrize("onchain", [{"vote_extension_seconds": 60}], indirect=True)  # 5 blocks of 12 s
def test_late_quorum_moves_the_deadline_the_page_shows(onchain: dict[str, Any]) -> None:
    env, http = onchain, Client()
    client, governor = env["client"], env["governor"]
    proposal, payload = _proposed_onchain(env, "Tighten ETH late", "0.036")
    first_deadline = governor.functions.proposalDeadline(payload.proposal_id).call()
    assert first_deadline == proposal.snapshot_block + VOTING_PERIOD_SECONDS // 12
    page = _page(http, proposal)
    assert 'id="extended-badge"' not in page and f"voting ends after block {first_deadline}" in page

    # Nobody votes until three blocks before the deadline; then one ballot reaches quorum.
    head = client.w3.eth.block_number
    client.rpc("anvil_mine", hex(first_deadline - 3 - head))
    voter = env["holders"][0]
    assert env["token"].functions.getPastVotes(voter, proposal.snapshot_block).call() >= (
        governor.functions.quorum(proposal.snapshot_block).call()
    )
    _vote(http, env, proposal, voter)
    (relay,) = _wait_relayed(proposal, 1)
    new_deadline = governor.functions.proposalDeadline(payload.proposal_id).call()
    assert relay.block_number is not None and new_deadline == relay.block_number + 5 > first_deadline

    # In on-chain mode the deploy adds beat entries indexing the Governor and the timelock every 15 s; the
    # Governor's entry's task brings the extension in.
    entries = PeriodicTask.objects.filter(name__in=["Index chain: governor", "Index chain: timelock"], enabled=True)
    assert sorted((json.loads(e.kwargs)["role"], e.task) for e in entries) == [
        ("governor", "chain.index_contract"), ("timelock", "chain.index_contract"),
    ]  # fmt: skip
    assert index_contract(role="governor")["errors"] == {}
    extended = GovernorProposalEvent.objects.get(proposal_id=Decimal(payload.proposal_id), kind="extended")
    assert extended.extended_deadline == new_deadline and extended.tx_hash == relay.tx_hash
    synced = proposal_onchain_sync(proposal_id=proposal.pk)
    # Both ends are blocks still to come, estimated from the same head at CHAIN_SECONDS_PER_BLOCK (12 s).
    assert synced.voting_extended_from is not None and synced.voting_ends_at - synced.voting_extended_from == (
        timedelta(seconds=12 * (new_deadline - first_deadline))
    )
    page = _page(http, synced)
    assert 'id="extended-badge"' in page and f"voting ends after block {new_deadline}" in page
    assert f'<time id="voting-ends" datetime="{synced.voting_ends_at.isoformat()}">' in page
    assert f"(scheduled {synced.voting_extended_from:%Y-%m-%d %H:%M:%S} UTC)" in page

    # Past the first deadline voting is still open on chain, and the app says so; it closes at the new one.
    client.rpc("anvil_mine", hex(first_deadline + 1 - client.w3.eth.block_number))
    assert proposal_onchain_sync(proposal_id=proposal.pk).state == ProposalState.ACTIVE
    client.rpc("anvil_mine", hex(new_deadline + 1 - client.w3.eth.block_number))
    assert proposal_onchain_sync(proposal_id=proposal.pk).state == ProposalState.SUCCEEDED


def test_ballot_for_another_governor_or_chain_is_refused_naming_the_field(onchain: dict[str, Any]) -> None:
    env, http = onchain, Client()
    proposal, _ = _proposed_onchain(env, "Tighten ETH", "0.037", index=False)
    voter, governor = env["holders"][1], env["governor"].address
    other_governor = dev_accounts(1, start=37)[0].address
    url = f"/governance/api/proposals/{proposal.pk}/votes/"

    # Voting is open on chain before the indexer has read the snapshot block: retry later, nothing is written.
    _, body = _ballot_body(http, env, proposal, voter, 1)
    early = http.post(url, body, content_type="application/json")
    assert early.status_code == 503 and early.json()["error"]["code"] == "cannot_verify_now", early.content
    assert f"block {proposal.snapshot_block} is not indexed yet" in early.json()["error"]["message"]
    _index(env)

    def signed_for(domain: dict[str, Any]) -> dict[str, Any]:
        typed, body = _ballot_body(http, env, proposal, voter, 1)
        typed = {**typed, "domain": {**typed["domain"], **domain}}
        signature = Account.sign_message(encode_typed_data(full_message=typed), env["keys"][voter].key).signature
        return {**body, "signature": HexBytes(signature).to_0x_hex(), "chain_id": typed["domain"]["chainId"],
                "verifying_contract": typed["domain"]["verifyingContract"]}  # fmt: skip

    refusals = []
    for domain, field in (({"verifyingContract": other_governor}, "verifying_contract"), ({"chainId": 1}, "chain_id")):
        response = http.post(url, signed_for(domain), content_type="application/json")
        error = response.json()["error"]
        assert response.status_code == 400 and (error["code"], error["field"]) == ("wrong_domain", field), error
        assert governor in error["message"] and "chain 31337" in error["message"]
        refusals.append(error["message"])
    assert other_governor in refusals[0] and "on chain 1," in refusals[1]

    # Signed for another chain but sent without saying so: the signature is not the voter's for this Governor.
    body = signed_for({"chainId": 1})
    del body["chain_id"], body["verifying_contract"]
    response = http.post(url, body, content_type="application/json")
    error = response.json()["error"]
    assert response.status_code == 400 and (error["code"], error["field"]) == ("invalid_signature", "signature")
    assert f"chain 31337, contract {governor}" in error["message"]

    # Nothing was written: the voter's ballot for this Governor is accepted with the same nonce, then relayed.
    assert not Vote.objects.filter(proposal=proposal).exists() and not VoteRelay.objects.exists()
    _vote(http, env, proposal, voter)
    (relay,) = _wait_relayed(proposal, 1)
    assert int(relay.vote.nonce) == 0 and env["governor"].functions.hasVoted(proposal.ballot_proposal_id, voter).call()
