"""Casting an EIP-712 signed ballot: cheap checks, verify, store, and update the tally.

Weights are token wei (voting power at the proposal's snapshot block). Counting follows
GovernorCountingSimple. A vote is one insert plus the voter's nonce row (no shared counter row), so concurrent
votes of different voters commit together; the tally is the aggregate of accepted votes
(selectors.proposals.tally_attach).

Order of checks: everything the database answers (proposal, window, repeat, nonce, voting power at the
snapshot) comes before the signature, and the one network call (ERC-1271 for a contract wallet) comes last.
The nonce is the voter's `VoterNonce` row: it only increases and is consumed in the transaction that inserts
the vote, so a deleted vote row never locks a voter out and two ballots with one nonce never both count.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes

from chain.eip712 import (
    Ballot,
    BallotDomain,
    ballot_digest_fast,
    canonical_form,
    domain_separator,
    is_valid_erc1271_signature,
    recover_address,
    signature_defect,
)
from chain.errors import ChainError, ContractReverted
from riskgov.core import dispatch
from riskgov.governance.domain.state import ACTIVE, PENDING, proposal_state
from riskgov.governance.errors import VoteRejected
from riskgov.governance.models import (
    GovernanceMode,
    Proposal,
    Vote,
    VoteRelay,
    VoteRelayStatus,
    VoterNonce,
    VoteSupportChoice,
)
from riskgov.governance.selectors import chain_reads
from riskgov.governance.selectors import onchain as governor_reads
from riskgov.governance.selectors.proposals import tally_attach
from riskgov.governance.services.voting_deadline import proposal_late_quorum_check


@dataclass(frozen=True)
class SignedBallot:
    """A ballot as submitted: the signed fields, the signature and the reason (signed with the ballot when given)."""

    proposal_id: int
    support: int
    voter: str
    nonce: int
    signature: str
    reason: str = ""
    # The domain the wallet signed under, when the submitter says: a ballot for another chain or contract is
    # refused naming both, before any signature check.
    chain_id: int | None = None
    verifying_contract: str = ""


REASON_MAX_LENGTH = 2000
RELAY_TASK = "riskgov.governance_relay_ballots"


def ballot_domain(proposal: Proposal) -> BallotDomain:
    """The EIP-712 domain frozen on the proposal at creation (the Governor's on chain, else the registry's)."""
    return BallotDomain(
        chain_id=int(proposal.chain_id), verifying_contract=proposal.verifying_contract,
        name=proposal.ballot_domain_name, version=proposal.ballot_domain_version,
    )  # fmt: skip


def voter_nonce(voter: str) -> int:
    """The nonce the voter's next ballot must carry (0 before their first vote)."""
    value = VoterNonce.objects.filter(voter=to_checksum_address(voter)).values_list("next_nonce", flat=True).first()
    return int(value or 0)


def _ballot(submitted: SignedBallot) -> Ballot:
    if not is_address(submitted.voter):
        raise VoteRejected("invalid_voter", f"{submitted.voter!r} is not an address", field="voter")
    if len(submitted.reason) > REASON_MAX_LENGTH:
        raise VoteRejected(
            "reason_too_long", f"the reason is {len(submitted.reason)} characters, at most {REASON_MAX_LENGTH}",
            field="reason",
        )  # fmt: skip
    if submitted.support not in VoteSupportChoice.values:
        raise VoteRejected("invalid_support", "support must be 0 (Against), 1 (For) or 2 (Abstain)", field="support")
    try:
        HexBytes(submitted.signature)
        return Ballot(
            proposal_id=submitted.proposal_id,
            support=submitted.support,
            voter=to_checksum_address(submitted.voter),
            nonce=submitted.nonce,
            reason=submitted.reason,
        )
    except ValueError as exc:
        raise VoteRejected("invalid_ballot", str(exc)) from exc


# What accepting a vote reads from the proposal (the voting window, the frozen ballot domain and snapshot).
VOTE_FIELDS = (
    "chain_id", "verifying_contract", "snapshot_block", "voting_starts_at", "voting_ends_at", "canceled_at",
    "queued_at", "vetoed_at", "executed_at", "timelock_seconds", "grace_period_seconds", "total_supply",
    "quorum_fraction", "governance_mode", "onchain_proposal_id", "onchain_state", "ballot_domain_name",
    "ballot_domain_version",
)  # fmt: skip


def _proposal_with_history(proposal_id: int, voter: str) -> Proposal | None:
    """The proposal's voting fields, the voter's next nonce and whether they voted on it, in one query."""
    table, votes, nonces = Proposal._meta.db_table, Vote._meta.db_table, VoterNonce._meta.db_table
    columns = ", ".join(f"p.{name}" for name in VOTE_FIELDS)
    # table and column names come from the models; every value is a query parameter
    sql = (
        f"SELECT p.id, {columns}, COALESCE((SELECT n.next_nonce FROM {nonces} n WHERE n.voter = %s), 0) "  # noqa: S608
        f"AS next_nonce, (SELECT COUNT(*) FROM {votes} v WHERE v.voter = %s AND v.proposal_id = p.id) AS voted_here "
        f"FROM {table} p WHERE p.id = %s"
    )
    return next(iter(Proposal.objects.raw(sql, [voter, voter, proposal_id])), None)


def _digest(proposal: Proposal, ballot: Ballot, *, reason: str) -> bytes:
    """The EIP-712 hash of `ballot` (ExtendedBallot when `reason`, else Ballot) in the proposal's frozen domain."""
    separator = domain_separator(
        name=proposal.ballot_domain_name, version=proposal.ballot_domain_version, chain_id=int(proposal.chain_id),
        verifying_contract=proposal.verifying_contract,
    )  # fmt: skip
    return ballot_digest_fast(
        separator, proposal_id=ballot.proposal_id, support=ballot.support, voter=ballot.voter, nonce=ballot.nonce,
        reason=reason,
    )  # fmt: skip


def _signature_check(proposal: Proposal, ballot: Ballot, signature: bytes) -> None:
    """Accept the voter's signature of exactly this ballot (its reason included), else raise naming the reason.

    EOAs on the fast path (libsecp256k1, canonical signatures only, as OpenZeppelin's ECDSA); anything else is
    asked of the voter's contract wallet (ERC-1271), the only step that needs the node.
    """
    voter = ballot.voter.lower()
    digest = _digest(proposal, ballot, reason=ballot.reason)
    if recover_address(digest, signature) == voter:
        return
    defect = signature_defect(signature)
    canonical = canonical_form(signature)
    if defect and canonical is not None and recover_address(digest, canonical) == voter:
        raise VoteRejected(
            "non_canonical_signature", f"{defect}; the low-s form with v 27/28 is accepted", field="signature"
        )
    if ballot.reason and recover_address(_digest(proposal, ballot, reason=""), signature) == voter:
        raise VoteRejected(
            "reason_not_signed",
            "the signature covers the ballot but not the reason: sign the ExtendedBallot that includes the reason "
            "(or send the vote without one)",
            field="reason",
        )
    try:
        w3 = chain_reads.ballot_web3()
        accepted = w3 is not None and is_valid_erc1271_signature(w3, ballot.voter, digest, signature)
    except ChainError as exc:
        raise VoteRejected(
            "cannot_verify_now",
            "cannot verify now, retry later: the signature is not an account key's, and the chain node that would "
            f"ask {ballot.voter}'s contract wallet (ERC-1271) is unreachable ({exc})",
            field="signature",
            status=503,
        ) from exc
    if not accepted:
        domain = ballot_domain(proposal)
        signed = "ExtendedBallot with this reason" if ballot.reason else "Ballot"
        raise VoteRejected(
            "invalid_signature",
            f"the signature is not {ballot.voter}'s signature of this {signed} (proposal {ballot.proposal_id}, support "
            f"{ballot.support}, nonce {ballot.nonce}, chain {domain.chain_id}, contract {domain.verifying_contract})",
            field="signature",
        )


def _nonce_consume(voter: str, nonce: int, now: datetime) -> bool:
    """Move the voter's nonce from `nonce` to `nonce + 1` (inside the caller's transaction); False if it is not
    `nonce` any more (a concurrent ballot took it)."""
    if VoterNonce.objects.filter(voter=voter, next_nonce=nonce).update(next_nonce=F("next_nonce") + 1, updated_at=now):
        return True
    if nonce != 0 or VoterNonce.objects.filter(voter=voter).exists():
        return False
    try:
        with transaction.atomic():  # a first vote: the row does not exist yet; a concurrent first vote collides here
            VoterNonce.objects.create(voter=voter, next_nonce=1, updated_at=now)
    except IntegrityError:
        return False
    return True


def _domain_check(proposal: Proposal, submitted: SignedBallot) -> None:
    """Refuse a ballot the submitter says was signed for another chain or verifying contract, naming both."""
    domain = ballot_domain(proposal)
    other_chain = submitted.chain_id is not None and int(submitted.chain_id) != domain.chain_id
    other_contract = bool(submitted.verifying_contract) and (
        submitted.verifying_contract.lower() != domain.verifying_contract.lower()
    )
    if other_chain or other_contract:
        what = "Governor" if proposal.governance_mode == GovernanceMode.ONCHAIN else "registry"
        raise VoteRejected(
            "wrong_domain",
            f"the ballot is signed for contract {submitted.verifying_contract or domain.verifying_contract} on chain "
            f"{submitted.chain_id if submitted.chain_id is not None else domain.chain_id}, but proposal "
            f"#{proposal.pk}'s ballots are for the {what} {domain.verifying_contract} on chain {domain.chain_id}",
            field="verifying_contract" if other_contract else "chain_id",
        )


def _onchain_window_check(proposal: Proposal, voter: str) -> None:
    """On chain, the Governor says whether voting is open (live state()) and whether the voter already voted."""
    governor, pid = proposal.verifying_contract, proposal.ballot_proposal_id
    try:
        state = governor_reads.governor_state(governor, pid)
        voted = governor_reads.governor_has_voted(governor, pid, voter)
    except ContractReverted as exc:
        raise VoteRejected(
            "not_on_chain", f"the Governor has no proposal {pid} yet: the proposer's wallet has not sent propose"
        ) from exc
    except ChainError as exc:
        raise VoteRejected(
            "cannot_verify_now", f"cannot read the Governor's state now, retry later ({exc})", status=503
        ) from exc
    if state == PENDING:
        raise VoteRejected(
            "voting_not_started", f"voting opens on chain after block {proposal.snapshot_block} (the snapshot)"
        )
    if state != ACTIVE:
        raise VoteRejected("voting_closed", f"voting is closed on chain (the Governor says {state})")
    if voted:
        raise VoteRejected(
            "already_voted", f"{voter} has already voted on proposal #{proposal.pk} on chain", status=409
        )


def _offchain_window_check(proposal: Proposal, now: datetime) -> None:
    state = proposal_state(proposal, now)
    if state == PENDING:
        raise VoteRejected("voting_not_started", f"voting starts at {proposal.voting_starts_at:%Y-%m-%d %H:%M:%S} UTC")
    if state != ACTIVE:
        tally_attach([proposal])
        raise VoteRejected("voting_closed", f"voting is closed (proposal is {proposal_state(proposal, now)})")


def onchain_next_nonce(proposal: Proposal, voter: str) -> int:
    """The nonce `voter`'s next ballot for this proposal's Governor must carry: the Governor's nonces(voter) plus
    the voter's ballots collected for it and not yet relayed (the relayer sends them in nonce order)."""
    waiting = Vote.objects.filter(
        voter=voter, governor=proposal.verifying_contract,
        relay__status__in=[VoteRelayStatus.PENDING, VoteRelayStatus.FAILED],
    ).count()  # fmt: skip
    try:
        return governor_reads.governor_nonce(proposal.verifying_contract, voter) + waiting
    except ChainError as exc:
        raise VoteRejected(
            "cannot_verify_now", f"cannot read the voter's Governor nonce now, retry later ({exc})", status=503
        ) from exc


def _snapshot_weight(proposal: Proposal, voter: str) -> int:
    """The voter's power at the proposal's snapshot; refused when none, or (503) while the indexer has not reached
    the snapshot block yet (on chain it is the propose transaction's block)."""
    try:
        weight = chain_reads.snapshot_voting_power(voter, int(proposal.snapshot_block))
    except ChainError as exc:
        raise VoteRejected(
            "cannot_verify_now", f"cannot read {voter}'s voting power at the snapshot now: {exc}", status=503
        ) from exc
    if weight <= 0:
        raise VoteRejected(
            "no_voting_power", f"{voter} had no voting power at snapshot block {proposal.snapshot_block}"
        )
    return weight


def vote_cast(*, ballot: SignedBallot, submitted_by: str = "", now: datetime | None = None) -> Vote:
    """Accept `ballot` if the proposal is Active, the voter has not voted on it, the nonce is the voter's next one,
    the voter had power at the snapshot, and the voter signed exactly this ballot (with its reason, if any).
    Anyone may submit (relay) it. On chain, the Governor's live state and nonces decide, the ballot signs the
    Governor's proposal id, and an accepted ballot waits for the relayer (VoteRelay, sent on commit).

    Raises VoteRejected naming the reason (409 for a repeated vote, 404 for an unknown proposal, 503
    `cannot_verify_now` when a contract wallet's signature cannot be checked because the node is down).
    """
    now = now or timezone.now()
    typed = _ballot(ballot)
    voter = typed.voter
    proposal = _proposal_with_history(ballot.proposal_id, voter)
    if proposal is None:
        raise VoteRejected("unknown_proposal", f"there is no proposal #{ballot.proposal_id}", status=404)
    onchain = proposal.governance_mode == GovernanceMode.ONCHAIN
    typed = replace(typed, proposal_id=proposal.ballot_proposal_id)
    _domain_check(proposal, ballot)
    if onchain:
        _onchain_window_check(proposal, voter)
    else:
        _offchain_window_check(proposal, now)
    if proposal.voted_here:  # type: ignore[attr-defined]
        raise VoteRejected("already_voted", f"{voter} has already voted on proposal #{proposal.pk}", status=409)
    expected = onchain_next_nonce(proposal, voter) if onchain else int(proposal.next_nonce)  # type: ignore[attr-defined]
    if ballot.nonce != expected:
        raise VoteRejected(
            "wrong_nonce", f"nonce must be {expected} (the voter's next nonce), got {ballot.nonce}", field="nonce"
        )
    weight = _snapshot_weight(proposal, voter)
    signature = bytes(HexBytes(ballot.signature))
    _signature_check(proposal, typed, signature)
    relayer = to_checksum_address(submitted_by) if submitted_by and is_address(submitted_by) else ""
    try:
        with transaction.atomic():  # the nonce and the vote commit together; unique (proposal, voter) settles races
            if not onchain and not _nonce_consume(voter, ballot.nonce, now):
                raise VoteRejected(
                    "already_voted", f"{voter} has already used nonce {ballot.nonce} for another ballot", status=409
                )
            vote = Vote.objects.create(
                proposal=proposal,
                voter=voter,
                support=ballot.support,
                weight=Decimal(weight),
                nonce=ballot.nonce,
                signature=HexBytes(signature).to_0x_hex(),
                reason=typed.reason,
                reason_signed=bool(typed.reason),
                submitted_by="" if relayer == voter else relayer,
                governor=proposal.verifying_contract if onchain else "",
                created_at=now,
            )
            if onchain:
                VoteRelay.objects.create(vote=vote, created_at=now)
                dispatch.send_on_commit(RELAY_TASK, proposal_id=proposal.pk)
    except IntegrityError as exc:  # a concurrent vote by the same voter on this proposal won the race
        raise VoteRejected(
            "already_voted", f"{voter} has already voted on proposal #{proposal.pk}", status=409
        ) from exc
    if not onchain:  # on chain, GovernorPreventLateQuorum extends the deadline itself
        proposal_late_quorum_check(proposal_id=proposal.pk, vote_at=now)  # may extend voting once (late quorum)
    return vote
