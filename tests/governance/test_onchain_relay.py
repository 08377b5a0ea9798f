"""The relayer's bookkeeping without a node: each ballot's outcome from chain.governor.relay_votes is stored as it
is (counted with tx and gas, already counted, reverted with its reason, a nonce gap left waiting), a node that
cannot be reached leaves the ballots to retry, and the on-chain tally comparison names what differs.
(The real Governor is exercised in test_onchain_lifecycle.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chain import governor as chain_governor
from chain.errors import ChainUnavailable
from riskgov.governance.models import Proposal, Vote, VoteRelay, VoteRelayStatus
from riskgov.governance.selectors import onchain_tally
from riskgov.governance.services import onchain_relay
from riskgov.governance.services.onchain_relay import ballots_relay
from tests.governance.conftest import WAD
from tests.governance.test_votes import mode, post_vote, proposal, sign  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def onchain_proposal(proposal: Proposal, client: Client, holders) -> Proposal:  # noqa: F811
    for voter, support in ((holders[1], 1), (holders[2], 0), (holders[3], 2)):
        assert post_vote(client, proposal.pk, sign(proposal, support, voter)).status_code == 201
    return proposal


@pytest.fixture
def relayed(monkeypatch: pytest.MonkeyPatch, settings: Any) -> list[list[chain_governor.SignedBallot]]:
    settings.CHAIN_RELAYER_KEY = "0x" + "77" * 32
    monkeypatch.setattr(onchain_relay.chain_reads, "chain_client", lambda: type("Client", (), {"w3": None})())
    return []


def _outcomes(relayed: list[Any], monkeypatch: pytest.MonkeyPatch, statuses: list[dict[str, Any]]) -> None:
    def relay(w3: Any, governor: str, key: Any, ballots: list[chain_governor.SignedBallot]) -> list[Any]:
        relayed.append(list(ballots))
        return [chain_governor.RelayResult(ballot=b.ballot, **statuses[i]) for i, b in enumerate(ballots)]

    monkeypatch.setattr(onchain_relay.chain_governor, "relay_votes", relay)


@pytest.mark.parametrize("mode", ["onchain"], indirect=True)
def test_each_outcome_is_stored_and_a_counted_ballot_is_not_sent_again(
    onchain_proposal: Proposal, relayed: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _outcomes(relayed, monkeypatch, [
        {"status": "counted", "tx_hash": "0x" + "ab" * 32, "gas_used": 61_000, "block_number": 12},
        {"status": "reverted", "error": "GovernorUnexpectedProposalState", "message": "voting is closed"},
        {"status": "skipped", "message": "nonce 3 is ahead of the voter's next Governor nonce 2"},
    ])  # fmt: skip
    assert ballots_relay() == {"counted": 1, "reverted": 1, "pending": 1}
    ballots = relayed[0]
    assert [b.ballot.proposal_id for b in ballots] == [onchain_proposal.ballot_proposal_id] * 3
    by_voter = {r.vote.voter: r for r in VoteRelay.objects.select_related("vote")}
    counted, reverted, waiting = (by_voter[b.ballot.voter] for b in ballots)
    assert (counted.status, counted.tx_hash, counted.gas_used, counted.block_number) == (
        VoteRelayStatus.COUNTED, "0x" + "ab" * 32, 61_000, 12,
    )  # fmt: skip
    assert counted.relayed_at is not None and counted.relayer.startswith("0x")
    assert (reverted.status, reverted.revert_reason) == (VoteRelayStatus.REVERTED, "voting is closed")
    assert waiting.status == VoteRelayStatus.PENDING and "ahead" in waiting.revert_reason
    _outcomes(relayed, monkeypatch, [{"status": "counted", "tx_hash": "0x" + "cd" * 32, "gas_used": 60_000}])
    assert ballots_relay() == {"counted": 1}  # only the waiting ballot is sent again
    assert [b.ballot.voter for b in relayed[1]] == [waiting.vote.voter]


@pytest.mark.parametrize("mode", ["onchain"], indirect=True)
def test_an_unreachable_node_leaves_the_ballots_to_retry(
    onchain_proposal: Proposal, relayed: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: Any, **kwargs: Any) -> None:
        raise ChainUnavailable("connection refused")

    monkeypatch.setattr(onchain_relay.chain_governor, "relay_votes", down)
    assert ballots_relay() == {"failed": 3}
    assert set(VoteRelay.objects.values_list("status", "attempts")) == {(VoteRelayStatus.FAILED, 1)}
    assert "connection refused" in VoteRelay.objects.first().revert_reason
    _outcomes(relayed, monkeypatch, [{"status": "already_counted"}] * 3)
    assert ballots_relay() == {"already_counted": 3}


@pytest.mark.parametrize("mode", ["onchain"], indirect=True)
def test_the_comparison_names_what_the_chain_has_not_counted(
    onchain_proposal: Proposal, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = {v.voter: int(v.weight) for v in Vote.objects.all()}
    for_weight = max(int(v.weight) for v in Vote.objects.filter(support=1))
    monkeypatch.setattr(
        onchain_tally.governor_projection, "onchain_tally",
        lambda pid: chain_governor.Tally(against=0, for_=for_weight, abstain=0),
    )  # fmt: skip
    monkeypatch.setattr(onchain_tally.governor_projection, "onchain_votes", lambda pid: [object()])
    comparison = onchain_tally.onchain_comparison(onchain_proposal)
    assert comparison is not None and not comparison.matches
    assert comparison.collected.total == sum(weights.values()) and comparison.pending == 3
    assert comparison.differences == [
        f"Against: 0 wei on chain, {10_000 * WAD} wei collected",
        f"Abstain: 0 wei on chain, {5_000 * WAD} wei collected",
        "1 votes on chain, 3 ballots collected",
    ]


@pytest.mark.parametrize("mode", ["onchain"], indirect=True)
def test_the_page_shows_the_payload_before_propose_and_the_tallies_after(
    onchain_proposal: Proposal, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.urls import reverse

    url = reverse("governance:proposal-detail", args=[onchain_proposal.pk])
    html = client.get(url).content.decode()
    payload = onchain_proposal.onchain_payload
    assert 'id="onchain-awaiting"' in html and 'data-onchain-action="propose"' in html
    assert payload["calldatas"][0] in html and "setParameters(bytes32" in html
    assert 'id="queue-button"' not in html and 'id="execute-button"' not in html  # no off-chain actions
    assert "Waiting to be relayed" in html  # each collected ballot's relay status
    Proposal.objects.filter(pk=onchain_proposal.pk).update(proposed_onchain_at=onchain_proposal.created_at)
    monkeypatch.setattr(
        onchain_tally.governor_projection,
        "onchain_tally",
        lambda pid: chain_governor.Tally(against=0, for_=0, abstain=0),
    )
    monkeypatch.setattr(onchain_tally.governor_projection, "onchain_votes", lambda pid: [])
    html = client.get(url).content.decode()
    assert "On-chain tally differs" in html and "3 ballots still waiting for the relayer" in html
    assert 'id="onchain-proposed"' in html and 'data-onchain-action="propose"' not in html
