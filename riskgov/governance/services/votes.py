"""Casting an EIP-712 signed ballot: verify, weigh at the snapshot, store, and update the tally.

Weights are token wei (voting power at the proposal's snapshot block). Counting follows
GovernorCountingSimple. A vote is one insert — no shared counter row — so concurrent votes commit together;
the tally is the aggregate of accepted votes (selectors.governance.tally_attach).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes

from chain.eip712 import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    Ballot,
    BallotDomain,
    ballot_digest_fast,
    domain_separator,
    recover_address,
    verify_ballot_signature,
)
from riskgov.governance.domain.state import ACTIVE, PENDING, proposal_state
from riskgov.governance.errors import VoteRejected
from riskgov.governance.models import Proposal, Vote, VoteSupportChoice
from riskgov.governance.selectors import chain_reads
from riskgov.governance.selectors.proposals import tally_attach


@dataclass(frozen=True)
class SignedBallot:
    """A ballot as submitted: the signed fields plus the signature and optional unsigned reason."""

    proposal_id: int
    support: int
    voter: str
    nonce: int
    signature: str
    reason: str = ""


def ballot_domain(proposal: Proposal) -> BallotDomain:
    """The EIP-712 domain frozen on the proposal at creation."""
    return BallotDomain(chain_id=int(proposal.chain_id), verifying_contract=proposal.verifying_contract)


def voter_nonce(voter: str) -> int:
    """The nonce the voter's next ballot must carry: their number of accepted votes."""
    return Vote.objects.filter(voter=to_checksum_address(voter)).count()


def _ballot(submitted: SignedBallot) -> Ballot:
    if not is_address(submitted.voter):
        raise VoteRejected("invalid_voter", f"{submitted.voter!r} is not an address", field="voter")
    if submitted.support not in VoteSupportChoice.values:
        raise VoteRejected("invalid_support", "support must be 0 (Against), 1 (For) or 2 (Abstain)", field="support")
    try:
        HexBytes(submitted.signature)
        return Ballot(
            proposal_id=submitted.proposal_id,
            support=submitted.support,
            voter=to_checksum_address(submitted.voter),
            nonce=submitted.nonce,
        )
    except ValueError as exc:
        raise VoteRejected("invalid_ballot", str(exc)) from exc


# What accepting a vote reads from the proposal (the voting window, the frozen ballot domain and snapshot).
VOTE_FIELDS = (
    "chain_id", "verifying_contract", "snapshot_block", "voting_starts_at", "voting_ends_at", "canceled_at",
    "queued_at", "vetoed_at", "executed_at", "timelock_seconds", "grace_period_seconds", "total_supply",
    "quorum_fraction",
)  # fmt: skip


def _proposal_with_history(proposal_id: int, voter: str) -> Proposal | None:
    """The proposal's voting fields plus the voter's accepted votes (all, and on this proposal), in one query."""
    table, votes = Proposal._meta.db_table, Vote._meta.db_table
    columns = ", ".join(f"p.{name}" for name in VOTE_FIELDS)
    # table and column names come from the models; every value is a query parameter
    sql = (
        f"SELECT p.id, {columns}, (SELECT COUNT(*) FROM {votes} v WHERE v.voter = %s) AS accepted_votes, "  # noqa: S608
        f"(SELECT COUNT(*) FROM {votes} v WHERE v.voter = %s AND v.proposal_id = p.id) AS voted_here "
        f"FROM {table} p WHERE p.id = %s"
    )
    return next(iter(Proposal.objects.raw(sql, [voter, voter, proposal_id])), None)


def _signed_by_voter(proposal: Proposal, ballot: Ballot, signature: str) -> bool:
    """EOA check on the fast path (libsecp256k1); contract wallets fall through to ERC-1271."""
    separator = domain_separator(
        name=DOMAIN_NAME, version=DOMAIN_VERSION, chain_id=int(proposal.chain_id),
        verifying_contract=proposal.verifying_contract,
    )  # fmt: skip
    digest = ballot_digest_fast(
        separator, proposal_id=ballot.proposal_id, support=ballot.support, voter=ballot.voter, nonce=ballot.nonce
    )
    return recover_address(digest, bytes(HexBytes(signature))) == ballot.voter.lower()


def vote_cast(*, ballot: SignedBallot, submitted_by: str = "", now: datetime | None = None) -> Vote:
    """Accept `ballot` if the voter signed it, the proposal is Active, the nonce is the voter's next one,
    the voter has power at the snapshot and has not voted yet. Anyone may submit (relay) it.

    Raises VoteRejected naming the reason (status 409 for a repeated vote, 404 for an unknown proposal).
    """
    now = now or timezone.now()
    typed = _ballot(ballot)
    voter = typed.voter
    proposal = _proposal_with_history(ballot.proposal_id, voter)
    if proposal is None:
        raise VoteRejected("unknown_proposal", f"there is no proposal #{ballot.proposal_id}", status=404)
    state = proposal_state(proposal, now)
    if state == PENDING:
        raise VoteRejected("voting_not_started", f"voting starts at {proposal.voting_starts_at:%Y-%m-%d %H:%M:%S} UTC")
    if state != ACTIVE:
        tally_attach([proposal])
        raise VoteRejected("voting_closed", f"voting is closed (proposal is {proposal_state(proposal, now)})")
    if proposal.voted_here:  # type: ignore[attr-defined]
        raise VoteRejected("already_voted", f"{voter} has already voted on proposal #{proposal.pk}", status=409)
    expected = int(proposal.accepted_votes)  # type: ignore[attr-defined]
    if ballot.nonce != expected:
        raise VoteRejected(
            "wrong_nonce", f"nonce must be {expected} (the voter's accepted votes), got {ballot.nonce}", field="nonce"
        )
    domain = ballot_domain(proposal)
    if not _signed_by_voter(proposal, typed, ballot.signature) and not verify_ballot_signature(
        chain_reads.ballot_web3(), typed, domain, ballot.signature
    ):
        raise VoteRejected(
            "invalid_signature",
            f"the signature is not {voter}'s signature of this ballot (proposal {proposal.pk}, support "
            f"{ballot.support}, nonce {ballot.nonce}, chain {domain.chain_id}, contract {domain.verifying_contract})",
            field="signature",
        )
    weight = chain_reads.snapshot_voting_power(voter, int(proposal.snapshot_block))
    if weight <= 0:
        raise VoteRejected(
            "no_voting_power", f"{voter} had no voting power at snapshot block {proposal.snapshot_block}"
        )
    relayer = to_checksum_address(submitted_by) if submitted_by and is_address(submitted_by) else ""
    try:
        with transaction.atomic():  # unique (proposal, voter) and (voter, nonce) settle races
            vote = Vote.objects.create(
                proposal=proposal,
                voter=voter,
                support=ballot.support,
                weight=Decimal(weight),
                nonce=ballot.nonce,
                signature=HexBytes(ballot.signature).to_0x_hex(),
                reason=ballot.reason.strip()[:2000],
                submitted_by="" if relayer == voter else relayer,
                created_at=now,
            )
    except IntegrityError as exc:  # a concurrent vote by the same voter won the race
        raise VoteRejected(
            "already_voted", f"{voter} has already voted or used nonce {ballot.nonce}", status=409
        ) from exc
    return vote
