"""Governance rules as pure functions: the proposal state machine and Governor-style counting.

Times are aware datetimes (UTC); vote amounts are integers of token wei. The state is derived from
the proposal's frozen window, its recorded actions (cancel, queue, veto, execute) and its tally —
the same function serves the pages, the API, the admin and the periodic task. A late quorum moves
`voting_ends_at` itself (once, see `late_quorum_deadline`), so every reader uses the extended deadline.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

PENDING = "pending"
ACTIVE = "active"
CANCELED = "canceled"
DEFEATED = "defeated"
SUCCEEDED = "succeeded"
QUEUED = "queued"
VETOED = "vetoed"
EXPIRED = "expired"
EXECUTED = "executed"

ONCHAIN_MODE = "onchain"  # GovernanceMode.ONCHAIN

FINAL_STATES = frozenset({CANCELED, DEFEATED, VETOED, EXPIRED, EXECUTED})


class ProposalFacts(Protocol):
    """What the state depends on; a Proposal row provides it."""

    voting_starts_at: datetime
    voting_ends_at: datetime
    canceled_at: datetime | None
    queued_at: datetime | None
    vetoed_at: datetime | None
    executed_at: datetime | None
    timelock_seconds: int
    grace_period_seconds: int
    for_votes: Decimal
    against_votes: Decimal
    abstain_votes: Decimal
    total_supply: Decimal
    quorum_fraction: Decimal


def quorum_votes(total_supply: Decimal | int, quorum_fraction: Decimal) -> int:
    """floor(total supply at the snapshot × fraction), token wei; in integers, so a 78-digit supply keeps every digit
    (a Decimal product would round to 28)."""
    numerator, denominator = Decimal(quorum_fraction).as_integer_ratio()
    return int(total_supply) * numerator // denominator


def quorum_reached(*, for_votes: Decimal | int, abstain_votes: Decimal | int, quorum: int) -> bool:
    """GovernorCountingSimple: For and Abstain count toward quorum; reached at equality."""
    return int(for_votes) + int(abstain_votes) >= quorum


def vote_succeeded(*, for_votes: Decimal | int, against_votes: Decimal | int) -> bool:
    """GovernorCountingSimple: strictly more For than Against; a tie fails."""
    return int(for_votes) > int(against_votes)


def proposal_passed(proposal: ProposalFacts) -> bool:
    quorum = quorum_votes(proposal.total_supply, proposal.quorum_fraction)
    return quorum_reached(
        for_votes=proposal.for_votes, abstain_votes=proposal.abstain_votes, quorum=quorum
    ) and vote_succeeded(for_votes=proposal.for_votes, against_votes=proposal.against_votes)


def quorum_progress(*, for_votes: Decimal | int, abstain_votes: Decimal | int, quorum: int) -> float:
    """Share of the quorum that For + Abstain have reached, capped at 1.0 (a zero quorum is always reached)."""
    if quorum <= 0:
        return 1.0
    return min(1.0, (int(for_votes) + int(abstain_votes)) / quorum)


def late_quorum_deadline(
    *, voting_ends_at: datetime, vote_at: datetime, vote_extension_seconds: int
) -> datetime | None:
    """GovernorPreventLateQuorum: the voting end after the vote that first reached quorum at `vote_at`.

    Voting stays open at least `vote_extension_seconds` after that vote: returns vote_at + extension when that is
    later than the current end, else None (an early quorum changes nothing). Called once per proposal, for the
    first vote that finds quorum reached; later votes never extend again.
    """
    if vote_extension_seconds <= 0:
        return None
    extended = vote_at + timedelta(seconds=vote_extension_seconds)
    return extended if extended > voting_ends_at else None


def execution_eta(proposal: ProposalFacts) -> datetime | None:
    if proposal.queued_at is None:
        return None
    return proposal.queued_at + timedelta(seconds=proposal.timelock_seconds)


def proposal_state(proposal: ProposalFacts, now: datetime) -> str:
    """The state at `now`.

    Executed, Canceled and Vetoed are recorded actions; before the window it is Pending, inside it
    Active (start inclusive, end exclusive); after it Defeated unless quorum is reached and For >
    Against, then Succeeded until queued, Queued until executed, and Expired once the grace period
    after the timelock has passed without execution. A proposal settled on chain has the Governor's state.
    """
    onchain = getattr(proposal, "onchain_state", "")
    if onchain and getattr(proposal, "governance_mode", "") == ONCHAIN_MODE:
        return str(onchain)  # settled on the Governor: its state() as last read (services.onchain)
    recorded = _recorded_state(proposal)
    if recorded is not None:
        return recorded
    if now < proposal.voting_starts_at:
        return PENDING
    if now < proposal.voting_ends_at:
        return ACTIVE
    return _state_after_voting(proposal, now)


def _recorded_state(proposal: ProposalFacts) -> str | None:
    """Executed, Canceled or Vetoed when that action was recorded (in that order of precedence)."""
    if proposal.executed_at is not None:
        return EXECUTED
    if proposal.canceled_at is not None:
        return CANCELED
    if proposal.vetoed_at is not None:
        return VETOED
    return None


def _state_after_voting(proposal: ProposalFacts, now: datetime) -> str:
    if not proposal_passed(proposal):
        return DEFEATED
    eta = execution_eta(proposal)
    if eta is None:
        return SUCCEEDED
    if now >= eta + timedelta(seconds=proposal.grace_period_seconds):
        return EXPIRED
    return QUEUED


def executable(proposal: ProposalFacts, now: datetime) -> bool:
    """Queued and past its timelock (and not expired)."""
    eta = execution_eta(proposal)
    return proposal_state(proposal, now) == QUEUED and eta is not None and now >= eta
