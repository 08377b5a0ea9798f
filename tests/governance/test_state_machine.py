"""The proposal state machine, table-driven over every state and transition, and its persistence."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from riskgov.core.models import AuditRecord
from riskgov.governance.domain import state as g
from riskgov.governance.errors import ActionNotAllowed
from riskgov.governance.models import Proposal, ProposalState, Vote
from riskgov.governance.services.proposals import proposal_cancel, proposal_queue, proposal_states_sync, proposal_veto
from tests.governance.conftest import T0, WAD, make_proposal

START = T0 + timedelta(minutes=1)
END = START + timedelta(hours=1)
SUPPLY = Decimal(1000 * WAD)  # quorum 4 % = 40 tokens


@dataclass
class Facts:
    voting_starts_at: datetime = START
    voting_ends_at: datetime = END
    canceled_at: datetime | None = None
    queued_at: datetime | None = None
    vetoed_at: datetime | None = None
    executed_at: datetime | None = None
    timelock_seconds: int = 600
    grace_period_seconds: int = 3600
    for_votes: Decimal = Decimal(0)
    against_votes: Decimal = Decimal(0)
    abstain_votes: Decimal = Decimal(0)
    total_supply: Decimal = SUPPLY
    quorum_fraction: Decimal = Decimal("0.04")


PASSING = {"for_votes": Decimal(50 * WAD), "against_votes": Decimal(10 * WAD)}
QUEUED_AT = END + timedelta(minutes=1)
ETA = QUEUED_AT + timedelta(seconds=600)

CASES = [
    # (name, facts, now, expected state)
    ("before start", {}, START - timedelta(seconds=1), g.PENDING),
    ("start is inclusive", {}, START, g.ACTIVE),
    ("last moment of voting", {}, END - timedelta(microseconds=1), g.ACTIVE),
    ("end is exclusive, no votes", {}, END, g.DEFEATED),
    ("no quorum", {"for_votes": Decimal(39 * WAD)}, END, g.DEFEATED),
    ("quorum exactly, For wins", {"for_votes": Decimal(40 * WAD)}, END, g.SUCCEEDED),
    (
        "quorum from Abstain, For > Against",
        {"for_votes": Decimal(2), "against_votes": Decimal(1), "abstain_votes": Decimal(40 * WAD)},
        END,
        g.SUCCEEDED,
    ),
    ("tie fails", {"for_votes": Decimal(50 * WAD), "against_votes": Decimal(50 * WAD)}, END, g.DEFEATED),
    ("Against wins", {"for_votes": Decimal(50 * WAD), "against_votes": Decimal(51 * WAD)}, END, g.DEFEATED),
    (
        "Against does not count to quorum",
        {"for_votes": Decimal(30 * WAD), "against_votes": Decimal(1)},
        END,
        g.DEFEATED,
    ),
    ("succeeded, not queued", PASSING, END + timedelta(days=30), g.SUCCEEDED),
    ("queued in timelock", {**PASSING, "queued_at": QUEUED_AT}, ETA - timedelta(seconds=1), g.QUEUED),
    ("queued past eta", {**PASSING, "queued_at": QUEUED_AT}, ETA, g.QUEUED),
    ("last moment of grace", {**PASSING, "queued_at": QUEUED_AT}, ETA + timedelta(seconds=3599), g.QUEUED),
    ("grace over", {**PASSING, "queued_at": QUEUED_AT}, ETA + timedelta(seconds=3600), g.EXPIRED),
    ("executed", {**PASSING, "queued_at": QUEUED_AT, "executed_at": ETA}, ETA + timedelta(days=9), g.EXECUTED),
    ("canceled while pending", {"canceled_at": T0}, START + timedelta(minutes=5), g.CANCELED),
    ("vetoed in timelock", {**PASSING, "queued_at": QUEUED_AT, "vetoed_at": ETA}, ETA + timedelta(days=1), g.VETOED),
]


@pytest.mark.parametrize(("facts", "now", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_state(facts: dict[str, object], now: datetime, expected: str) -> None:
    assert g.proposal_state(replace(Facts(), **facts), now) == expected


def test_zero_supply_quorum_is_zero_but_for_must_beat_against() -> None:
    facts = Facts(total_supply=Decimal(0))
    assert g.proposal_state(facts, END) == g.DEFEATED  # 0 > 0 is false
    assert g.proposal_state(replace(facts, for_votes=Decimal(1)), END) == g.SUCCEEDED


def test_executable_only_when_queued_past_eta() -> None:
    queued = Facts(queued_at=QUEUED_AT, **PASSING)
    assert not g.executable(queued, ETA - timedelta(seconds=1))
    assert g.executable(queued, ETA)
    assert not g.executable(queued, ETA + timedelta(hours=2))  # expired
    assert not g.executable(Facts(**PASSING), END + timedelta(hours=1))


# ------------------------------------------------------------ transitions through the services

ACTIONS = [
    # (action, state the proposal is put in, allowed)
    ("cancel", "pending", True),
    ("cancel", "active", False),
    ("queue", "succeeded", True),
    ("queue", "active", False),
    ("queue", "defeated", False),
    ("veto", "queued", True),
    ("veto", "succeeded", False),
    ("veto", "pending", False),
]


def _vote_for(proposal: Proposal) -> None:
    Vote.objects.create(proposal=proposal, voter=f"0x{proposal.pk:040x}", support=1, weight=Decimal(900_000 * WAD),
                        nonce=0, signature="0x00")  # fmt: skip


def _put_in(proposal: Proposal, state: str) -> datetime:
    if state == "pending":
        return T0
    if state == "active":
        return START + timedelta(minutes=1)
    if state == "defeated":
        return END + timedelta(minutes=1)
    _vote_for(proposal)
    if state == "queued":
        Proposal.objects.filter(pk=proposal.pk).update(queued_at=END)
    return END + timedelta(minutes=1)


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "state", "allowed"), ACTIONS)
def test_actions(chain, holders, market, gov_settings, action: str, state: str, allowed: bool) -> None:
    guardian = holders[5].address
    gov_settings.guardian_address = guardian
    gov_settings.save()
    proposal = make_proposal(chain, holders[0])
    now = _put_in(proposal, state)
    calls = {
        "cancel": lambda: proposal_cancel(proposal_id=proposal.pk, actor=holders[0].address, now=now),
        "queue": lambda: proposal_queue(proposal_id=proposal.pk, actor="anyone", now=now),
        "veto": lambda: proposal_veto(proposal_id=proposal.pk, guardian=guardian, reason="oracle incident", now=now),
    }
    expected = {"cancel": ProposalState.CANCELED, "queue": ProposalState.QUEUED, "veto": ProposalState.VETOED}
    if allowed:
        assert calls[action]().state == expected[action]
        assert AuditRecord.objects.filter(subject_id=str(proposal.pk), action__startswith="proposal.").count() == 2
    else:
        with pytest.raises(ActionNotAllowed):
            calls[action]()


@pytest.mark.django_db
def test_only_proposer_cancels_and_only_guardian_vetoes(chain, holders, market, gov_settings) -> None:
    gov_settings.guardian_address = holders[5].address
    gov_settings.save()
    proposal = make_proposal(chain, holders[0])
    with pytest.raises(ActionNotAllowed, match="Only the proposer"):
        proposal_cancel(proposal_id=proposal.pk, actor=holders[1].address, now=T0)
    _put_in(proposal, "queued")
    with pytest.raises(ActionNotAllowed, match="Only the guardian"):
        proposal_veto(proposal_id=proposal.pk, guardian=holders[1].address, reason="no", now=END + timedelta(minutes=1))


@pytest.mark.django_db
def test_settings_are_frozen_at_creation(chain, holders, market, gov_settings) -> None:
    proposal = make_proposal(chain, holders[0])
    gov_settings.voting_period_seconds = 10
    gov_settings.quorum_fraction = Decimal("0.5")
    gov_settings.save()
    proposal.refresh_from_db()
    assert proposal.voting_period_seconds == 3600
    assert proposal.quorum_fraction == Decimal("0.04")
    assert proposal.voting_ends_at - proposal.voting_starts_at == timedelta(hours=1)


@pytest.mark.django_db
def test_periodic_sync_persists_transitions_and_queues(chain, holders, market, gov_settings) -> None:
    passing = make_proposal(chain, holders[0])
    failing = make_proposal(chain, holders[1], mmr="0.036")
    assert sorted(proposal_states_sync(now=START + timedelta(seconds=1))["changed"]) == [passing.pk, failing.pk]
    assert set(Proposal.objects.values_list("state", flat=True)) == {ProposalState.ACTIVE}
    _vote_for(passing)
    with time_machine.travel(END + timedelta(seconds=5), tick=False):
        result = proposal_states_sync(now=END + timedelta(seconds=5))
    assert result["queued"] == [passing.pk]
    assert Proposal.objects.get(pk=passing.pk).state == ProposalState.QUEUED
    assert Proposal.objects.get(pk=failing.pk).state == ProposalState.DEFEATED
    again = proposal_states_sync(now=END + timedelta(seconds=6))
    assert again == {"changed": [], "queued": []}
