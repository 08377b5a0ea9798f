"""Signed ballots through the vote endpoint: the valid one is accepted, every bad one rejected with its reason.

The tests taking `proposal` run in both governance modes: off-chain, and on chain against a stand-in Governor
(its state from the proposal's window, its nonces 0), where a ballot signs the Governor's id under its domain.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from eth_account.signers.local import LocalAccount

from chain.registry import registry_targets
from riskgov.governance.models import GovernanceMode, Proposal, Vote, VoteRelay
from riskgov.governance.selectors import chain_reads
from riskgov.governance.selectors import onchain as governor_reads
from riskgov.governance.selectors.proposals import proposal_tally, tally_attach
from riskgov.governance.services import proposals as proposal_services
from riskgov.governance.services.registry_targets import chain_symbol
from tests.governance.conftest import (
    ACTIVE_AT,
    AFTER_END,
    CHAIN_ID,
    REGISTRY,
    T0,
    TOKEN,
    WAD,
    make_proposal,
    signed,
)

GOVERNOR = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"

pytestmark = pytest.mark.django_db


def post_vote(client: Client, proposal_id: int, body: dict[str, Any], at: Any = ACTIVE_AT) -> Any:
    with time_machine.travel(at, tick=False):
        return client.post(reverse("governance:api-votes", args=[proposal_id]), body, content_type="application/json")


def _stand_in_governor_state(governor: str, proposal_id: int) -> str:
    proposal = Proposal.objects.get(onchain_proposal_id=proposal_id)
    now = timezone.now()
    return "pending" if now < proposal.voting_starts_at else "active" if now < proposal.voting_ends_at else "defeated"


@pytest.fixture(params=[GovernanceMode.OFFCHAIN, GovernanceMode.ONCHAIN])
def mode(request: pytest.FixtureRequest, chain, settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == GovernanceMode.ONCHAIN:
        settings.RISKGOV_GOVERNANCE_MODE = GovernanceMode.ONCHAIN
        deployment = chain_reads.GovernanceChain(
            chain_id=CHAIN_ID, registry=REGISTRY, gov_token=TOKEN, governor=GOVERNOR
        )
        monkeypatch.setattr(chain_reads, "governance_chain", lambda: deployment)
        monkeypatch.setattr(
            proposal_services, "_registry_market_targets",
            lambda chain, grouped, markets, currents: [
                (markets[s], chain_symbol(markets[s]), registry_targets({**currents[s].values(), **f}, oi_cap=10**24))
                for s, f in sorted(grouped.items())
            ],
        )  # fmt: skip
        monkeypatch.setattr(governor_reads, "governor_state", _stand_in_governor_state)
        monkeypatch.setattr(governor_reads, "governor_nonce", lambda governor, voter: 0)
        monkeypatch.setattr(governor_reads, "governor_has_voted", lambda governor, proposal_id, voter: False)
    return str(request.param)


@pytest.fixture
def proposal(mode, chain, holders, market, gov_settings) -> Proposal:
    for holder, tokens in zip(holders, (50_000, 30_000, 10_000, 5_000, 0), strict=False):
        chain.powers[holder.address] = tokens * WAD
    created = make_proposal(chain, holders[0])
    assert created.governance_mode == mode
    return created


def sign(proposal: Proposal, support: int, voter: LocalAccount, **kwargs: Any) -> dict[str, object]:
    """A ballot for `proposal` in its mode: its signed id (the Governor's on chain) under its domain."""
    kwargs.setdefault("contract", proposal.verifying_contract)
    return signed(proposal.ballot_proposal_id, support, voter, **kwargs)


def test_valid_vote_is_accepted_and_counted(client: Client, proposal: Proposal, holders) -> None:
    response = post_vote(client, proposal.pk, sign(proposal, 1, holders[1], reason="prudent"))
    assert response.status_code == 201, response.json()
    assert response.json()["weight"] == str(30_000 * WAD)
    vote = Vote.objects.get()
    assert (vote.voter, vote.support, vote.nonce, vote.reason) == (holders[1].address, 1, 0, "prudent")
    # on chain the ballot waits for the relayer; off-chain nothing is relayed
    assert VoteRelay.objects.filter(vote=vote, status="pending").exists() == proposal.is_onchain
    tally = client.get(reverse("governance:api-proposal", args=[proposal.pk])).json()["tally"]
    assert (tally["for"], tally["votes"]) == (str(30_000 * WAD), 1)
    public = client.get(reverse("governance:api-votes", args=[proposal.pk])).json()
    assert public[0]["signature"] == vote.signature and public[0]["weight"] == str(30_000 * WAD)


REJECTIONS = [
    # (name, ballot kwargs, time, expected status, expected code)
    ("wrong chain id", {"chain_id": CHAIN_ID + 1}, ACTIVE_AT, 400, "invalid_signature"),
    ("wrong contract", {"contract": "0x" + "11" * 20}, ACTIVE_AT, 400, "invalid_signature"),
    ("wrong nonce", {"nonce": 1}, ACTIVE_AT, 400, "wrong_nonce"),
    ("before start", {}, T0 + timedelta(seconds=30), 400, "voting_not_started"),
    ("after end", {}, AFTER_END, 400, "voting_closed"),
]


@pytest.mark.parametrize(
    ("kwargs", "at", "status", "code"), [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS]
)
def test_rejected_with_reason(client: Client, proposal: Proposal, holders, kwargs, at, status, code) -> None:
    response = post_vote(client, proposal.pk, sign(proposal, 1, holders[1], **kwargs), at=at)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert not Vote.objects.exists()


def test_signature_for_another_proposal(client: Client, chain, proposal: Proposal, holders) -> None:
    other = make_proposal(chain, holders[0], mmr="0.036")
    response = post_vote(client, proposal.pk, sign(other, 1, holders[1]))
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_signature"
    assert "proposal" in response.json()["error"]["message"]


def test_signer_is_not_the_voter(client: Client, proposal: Proposal, holders) -> None:
    response = post_vote(client, proposal.pk, sign(proposal, 1, holders[1], key=holders[2]))
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_signature"


def test_zero_voting_power(client: Client, proposal: Proposal, holders) -> None:
    response = post_vote(client, proposal.pk, sign(proposal, 1, holders[4]))
    assert response.status_code == 400 and response.json()["error"]["code"] == "no_voting_power"


def test_repeated_vote_is_409(client: Client, proposal: Proposal, holders) -> None:
    assert post_vote(client, proposal.pk, sign(proposal, 1, holders[1])).status_code == 201
    again = post_vote(client, proposal.pk, sign(proposal, 0, holders[1], nonce=1))
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_voted"
    replay = post_vote(client, proposal.pk, sign(proposal, 1, holders[1]))
    assert replay.status_code == 409
    assert Vote.objects.count() == 1


def test_nonce_counts_accepted_votes_across_proposals(client: Client, chain, proposal: Proposal, holders) -> None:
    second = make_proposal(chain, holders[0], mmr="0.036")
    assert post_vote(client, proposal.pk, sign(proposal, 1, holders[1])).status_code == 201
    rejected = post_vote(client, second.pk, sign(second, 1, holders[1], nonce=0))
    assert rejected.json()["error"]["code"] == "wrong_nonce"
    typed = client.get(reverse("governance:api-ballot", args=[second.pk]), {"voter": holders[1].address, "support": 2})
    assert typed.json()["message"]["nonce"] == 1
    assert typed.json()["domain"] == {
        "name": "RiskGov",
        "version": "1",
        "chainId": CHAIN_ID,
        "verifyingContract": GOVERNOR if second.is_onchain else REGISTRY,
    }
    assert post_vote(client, second.pk, sign(second, 2, holders[1], nonce=1)).status_code == 201


def test_relayer_may_submit(client: Client, proposal: Proposal, holders) -> None:
    with time_machine.travel(ACTIVE_AT, tick=False):
        session = client.session
        session["siwe_address"] = holders[3].address
        session.save()
    assert post_vote(client, proposal.pk, sign(proposal, 0, holders[2])).status_code == 201
    assert Vote.objects.get().submitted_by == holders[3].address


def test_malformed_input_answers_the_error_shape_naming_the_field(client: Client, proposal: Proposal, holders) -> None:
    body = {**sign(proposal, 1, holders[1]), "support": 7}
    response = post_vote(client, proposal.pk, body)
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "max_value", "message": "Ensure this value is less than or equal to 2.", "field": "support"}
    }
    missing = post_vote(client, proposal.pk, {k: v for k, v in sign(proposal, 1, holders[1]).items() if k != "nonce"})
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "nonce"
    unknown = post_vote(client, 999_999, signed(999_999, 1, holders[1]))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_proposal"
    assert not Vote.objects.exists()


def test_ballot_typed_data_refuses_a_bad_voter_naming_the_field(client: Client, proposal: Proposal) -> None:
    url = reverse("governance:api-ballot", args=[proposal.pk])
    response = client.get(url, {"voter": "0x1234", "support": 1})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_voter", "voter") and "not an address" in error["message"]


QUORUM_EDGES = [
    # powers (For, Against, Abstain) in tokens; supply 1,000,000 → quorum 40,000 tokens
    ((40_000, 0, 0), True, True),
    ((39_999, 0, 0), False, True),
    ((20_000, 0, 20_000), True, True),
    ((25_000, 25_000, 0), False, False),
    ((30_000, 30_000, 10_000), True, False),  # tie fails even with quorum
    ((30_001, 30_000, 10_000), True, True),
]


@pytest.mark.parametrize(("amounts", "quorum", "succeeded"), QUORUM_EDGES)
def test_quorum_and_tie_edges(client: Client, chain, holders, market, gov_settings, amounts, quorum, succeeded) -> None:
    proposal = make_proposal(chain, holders[5])
    for holder, support, tokens in zip(holders, (1, 0, 2), amounts, strict=False):
        if tokens:
            chain.powers[holder.address] = tokens * WAD
            assert post_vote(client, proposal.pk, sign(proposal, support, holder)).status_code == 201
    proposal.refresh_from_db()
    tally_attach([proposal])
    tally = proposal_tally(proposal)
    assert (tally.quorum_reached, tally.succeeded) == (quorum, succeeded)
    with time_machine.travel(AFTER_END, tick=False):
        state = client.get(reverse("governance:api-proposal", args=[proposal.pk])).json()["state"]
    assert state == ("succeeded" if quorum and succeeded else "defeated")


def test_a_ballot_said_to_be_for_another_chain_or_contract_is_refused_naming_both(
    client: Client, proposal: Proposal, holders
) -> None:
    other_chain = {**sign(proposal, 1, holders[1], chain_id=CHAIN_ID + 1), "chain_id": CHAIN_ID + 1}
    response = post_vote(client, proposal.pk, other_chain)
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["field"]) == (400, "wrong_domain", "chain_id")
    assert f"chain {CHAIN_ID + 1}" in error["message"] and proposal.verifying_contract in error["message"]
    elsewhere = "0x" + "22" * 20
    other_contract = {**sign(proposal, 1, holders[1], contract=elsewhere), "verifying_contract": elsewhere}
    response = post_vote(client, proposal.pk, other_contract)
    assert response.json()["error"]["field"] == "verifying_contract"
    assert not Vote.objects.exists()
