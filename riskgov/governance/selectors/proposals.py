"""Reads for governance pages, the API and the recount. States always come from domain.proposal_state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from hexbytes import HexBytes

from chain.eip712 import (
    BALLOT_TYPE,
    EXTENDED_BALLOT_TYPE,
    Ballot,
    BallotDomain,
    domain_separator,
    signers_match_parallel,
    verify_ballot_signature,
)
from chain.errors import ChainError
from riskgov.core.models import AuditAction, AuditRecord
from riskgov.core.models.uint256 import Uint256Sum
from riskgov.governance.domain.state import (
    proposal_passed,
    proposal_state,
    quorum_reached,
    quorum_votes,
    vote_succeeded,
)
from riskgov.governance.models import Proposal, ProposalState, Vote, VoteSupportChoice
from riskgov.governance.selectors import chain_reads
from riskgov.markets.models import MarginParameters

PROPOSAL_SUBJECT = Proposal._meta.label_lower  # how audit records name a proposal


@dataclass(frozen=True)
class ProposalRow:
    proposal: Proposal
    state: str

    @property
    def state_label(self) -> str:
        return str(ProposalState(self.state).label)


def tally_attach(proposals: Iterable[Proposal]) -> None:
    """Set each proposal's tally (for/against/abstain wei, vote count) from its accepted votes, in one query.

    Votes are only inserted (no shared counter row to lock), so the tally is always this aggregate; the
    columns on the proposal are its cache, saved whenever the proposal row is saved.
    """
    by_id = {p.pk: p for p in proposals}
    if not by_id:
        return
    for proposal in by_id.values():
        proposal.for_votes = proposal.against_votes = proposal.abstain_votes = Decimal(0)
        proposal.vote_count = 0
    rows = (
        Vote.objects.filter(proposal_id__in=list(by_id))
        .values("proposal_id", "support")
        .annotate(total=Uint256Sum("weight"), n=Count("pk"))
        .order_by()
    )
    for row in rows:
        proposal = by_id[row["proposal_id"]]
        setattr(proposal, _TALLY_FIELD[row["support"]], row["total"] or Decimal(0))
        proposal.vote_count += row["n"]


_TALLY_FIELD = {VoteSupportChoice.AGAINST: "against_votes", VoteSupportChoice.FOR: "for_votes",
                VoteSupportChoice.ABSTAIN: "abstain_votes"}  # fmt: skip


def proposal_rows(*, state: str | None = None, now: datetime | None = None) -> list[ProposalRow]:
    """Every proposal with its derived state, newest first; `state` filters on the derived state."""
    now = now or timezone.now()
    proposals = list(Proposal.objects.prefetch_related("changes__market"))
    tally_attach(proposals)
    rows = [ProposalRow(p, proposal_state(p, now)) for p in proposals]
    return [row for row in rows if state is None or row.state == state]


@dataclass(frozen=True)
class Tally:
    for_votes: int
    against_votes: int
    abstain_votes: int
    quorum: int
    total_supply: int
    vote_count: int

    @property
    def total(self) -> int:
        return self.for_votes + self.against_votes + self.abstain_votes

    @property
    def quorum_reached(self) -> bool:
        return quorum_reached(for_votes=self.for_votes, abstain_votes=self.abstain_votes, quorum=self.quorum)

    @property
    def succeeded(self) -> bool:
        return vote_succeeded(for_votes=self.for_votes, against_votes=self.against_votes)

    def share(self, amount: int) -> float:
        """Fraction of the larger of (votes cast, quorum), for bars drawn against the quorum line."""
        scale = max(self.total, self.quorum, 1)
        return amount / scale

    def bars(self) -> dict[str, float]:
        return {
            "for": 100 * self.share(self.for_votes),
            "against": 100 * self.share(self.against_votes),
            "abstain": 100 * self.share(self.abstain_votes),
            "quorum": 100 * self.share(self.quorum),
            "quorum_progress": 100 * self.share(self.for_votes + self.abstain_votes),
        }


def proposal_tally(proposal: Proposal) -> Tally:
    return Tally(
        for_votes=int(proposal.for_votes),
        against_votes=int(proposal.against_votes),
        abstain_votes=int(proposal.abstain_votes),
        quorum=quorum_votes(proposal.total_supply, proposal.quorum_fraction),
        total_supply=int(proposal.total_supply),
        vote_count=proposal.vote_count,
    )


def proposal_votes(proposal: Proposal) -> QuerySet[Vote]:
    return proposal.votes.order_by("-weight", "created_at")


@dataclass(frozen=True)
class ChangeRow:
    market: str
    field: str
    old_value: Decimal | None
    new_value: Decimal | None
    in_force: Decimal | None


def proposal_diff(proposal: Proposal) -> list[ChangeRow]:
    """Each change: value at creation → proposed, and the value in force now (it may have moved since)."""
    changes = list(proposal.changes.select_related("market"))
    current: dict[int, MarginParameters] = {}
    for version in MarginParameters.objects.filter(market__in={c.market_id for c in changes}).order_by("version"):
        current[version.market_id] = version
    return [
        ChangeRow(
            market=str(c.market.symbol),
            field=c.field,
            old_value=c.old_value,
            new_value=c.new_value,
            in_force=getattr(current[c.market_id], c.field) if c.market_id in current else None,
        )
        for c in changes
    ]


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    title: str
    detail: str = ""
    kind: str = "proposal"
    link: str = ""


ACTION_TITLES: dict[str, str] = {  # keyed by AuditAction values, as records store them
    AuditAction.PROPOSAL_CREATED: "Proposal created",
    AuditAction.PROPOSAL_CANCELED: "Canceled by the proposer",
    AuditAction.PROPOSAL_QUEUED: "Queued (timelock started)",
    AuditAction.PROPOSAL_VETOED: "Vetoed by the guardian",
    AuditAction.PROPOSAL_EXECUTED: "Executed",
    AuditAction.PROPOSAL_EXECUTION_FAILED: "Execution attempt failed",
}


def governance_activity(*, limit: int = 20) -> list[TimelineEntry]:
    """Recent public governance events: proposal actions, vetoes, admin and automatic (policy) parameter changes."""
    records = AuditRecord.objects.filter(
        Q(subject_type=PROPOSAL_SUBJECT, action__in=list(ACTION_TITLES))
        | Q(action=AuditAction.PARAMETERS_CHANGED, data__source__in=["admin", "policy"])
    ).order_by("-created_at")[:limit]
    entries = []
    for record in records:
        if record.action == AuditAction.PARAMETERS_CHANGED:
            data = record.data or {}
            who = "Automatic change (margin policy)" if data.get("source") == "policy" else "Admin change"
            title = f"{who}: {data.get('market')} v{data.get('version')}"
            entries.append(TimelineEntry(record.created_at, title, str(data.get("reason", "")), kind="parameters"))
        else:
            title = f"#{record.subject_id} {ACTION_TITLES[record.action]}"
            entries.append(
                TimelineEntry(
                    record.created_at,
                    title,
                    str((record.data or {}).get("reason", "")),
                    kind="veto" if record.action == AuditAction.PROPOSAL_VETOED else "proposal",
                    link=record.subject_id,
                )
            )
    return entries


def latest_recount(proposal: Proposal) -> dict[str, Any] | None:
    record = (
        AuditRecord.objects.filter(
            subject_type=PROPOSAL_SUBJECT, subject_id=str(proposal.pk), action=AuditAction.PROPOSAL_RECOUNTED
        )
        .order_by("-created_at")
        .first()
    )
    return None if record is None else {**record.data, "at": record.created_at}


# ------------------------------------------------------------------ recount


RECOUNT_SOURCE_CHAIN = "chain"
RECOUNT_SOURCE_DATABASE = "database"


@dataclass
class Recount:
    """The tally recomputed from stored signatures and voting power at the snapshot (token wei).

    `source` says where the voting power came from: "chain" (getPastVotes on the node) or "database" (the
    indexer's rows, when no node answers); `source_note` says so in words.
    """

    proposal_id: int
    snapshot_block: int
    counted: dict[str, int] = field(default_factory=lambda: {"for": 0, "against": 0, "abstain": 0})
    stored: dict[str, int] = field(default_factory=dict)
    votes: int = 0
    invalid_signatures: list[str] = field(default_factory=list)
    unverified_signatures: list[str] = field(default_factory=list)
    weight_mismatches: list[dict[str, str]] = field(default_factory=list)
    quorum: int = 0
    passed: bool = False
    source: str = RECOUNT_SOURCE_DATABASE
    source_note: str = ""

    @property
    def matches(self) -> bool:
        return (
            self.counted == self.stored
            and not self.invalid_signatures
            and not self.unverified_signatures
            and not self.weight_mismatches
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "proposal_id": self.proposal_id,
            "snapshot_block": self.snapshot_block,
            "votes": self.votes,
            "counted": {k: str(v) for k, v in self.counted.items()},
            "stored": {k: str(v) for k, v in self.stored.items()},
            "quorum": str(self.quorum),
            "passed": self.passed,
            "source": self.source,
            "source_note": self.source_note,
            "invalid_signatures": self.invalid_signatures,
            "unverified_signatures": self.unverified_signatures,
            "weight_mismatches": self.weight_mismatches,
            "matches": self.matches,
        }


_SUPPORT_KEY = {
    VoteSupportChoice.AGAINST: "against",
    VoteSupportChoice.FOR: "for",
    VoteSupportChoice.ABSTAIN: "abstain",
}


def _recount_powers(proposal: Proposal, voters: list[str]) -> tuple[dict[str, int], str, str]:
    """Voting power at the snapshot from the chain node when one answers, else from the indexer's rows;
    with the source and a sentence saying which."""
    block = int(proposal.snapshot_block)
    gov_token = chain_reads.ballot_gov_token(chain_id=int(proposal.chain_id), registry=proposal.verifying_contract)
    if gov_token is None:
        reason = f"no deployment of contract {proposal.verifying_contract} is recorded for chain {proposal.chain_id}"
    else:
        try:
            powers = chain_reads.chain_voting_powers_at(voters, block, gov_token=gov_token)
        except ChainError as exc:
            reason = f"reading getPastVotes from the chain node failed ({exc})"
        else:
            note = f"voting power read from the chain node: getPastVotes(voter, {block}) of token {gov_token}"
            return powers, RECOUNT_SOURCE_CHAIN, note
    note = f"checked against the database only (the indexer's voting-power rows), not the chain: {reason}"
    return chain_reads.voting_powers_at(voters, block), RECOUNT_SOURCE_DATABASE, note


def proposal_recount(proposal: Proposal) -> Recount:
    """Recompute the tally: every stored signature is re-verified against the rebuilt ballot (ExtendedBallot
    for a signed reason; canonical signatures only) and every weight re-read at the snapshot block, from the
    chain when a node answers; compares with the running tally stored on the proposal."""
    tally_attach([proposal])
    separator = domain_separator(
        name=proposal.ballot_domain_name,
        version=proposal.ballot_domain_version,
        chain_id=int(proposal.chain_id),
        verifying_contract=proposal.verifying_contract,
    )
    domain = BallotDomain(
        chain_id=int(proposal.chain_id),
        verifying_contract=proposal.verifying_contract,
        name=proposal.ballot_domain_name,
        version=proposal.ballot_domain_version,
    )
    signed_id = proposal.ballot_proposal_id  # the Governor's id on chain, else the proposal's number
    rows = [
        (voter, support, nonce, bytes(HexBytes(signature)), reason if signed else "", weight)
        for voter, support, nonce, signature, reason, signed, weight in proposal.votes.values_list(
            "voter", "support", "nonce", "signature", "reason", "reason_signed", "weight"
        )
    ]
    powers, source, note = _recount_powers(proposal, [row[0] for row in rows])
    recount = Recount(
        proposal_id=proposal.pk, snapshot_block=int(proposal.snapshot_block), votes=len(rows), source=source,
        source_note=note,
    )  # fmt: skip
    recount.stored = {
        "for": int(proposal.for_votes),
        "against": int(proposal.against_votes),
        "abstain": int(proposal.abstain_votes),
    }
    matched = signers_match_parallel(separator, signed_id, [row[:5] for row in rows])
    w3: Any = None
    for (voter, support, nonce, raw, reason, weight), ok in zip(rows, matched, strict=True):
        if not ok:
            ballot = Ballot(proposal_id=signed_id, support=support, voter=voter, nonce=nonce, reason=reason)
            try:
                w3 = w3 or chain_reads.ballot_web3()  # contract wallets: ERC-1271 on the chain
                valid = verify_ballot_signature(w3, ballot, domain, raw)
            except ChainError:
                recount.unverified_signatures.append(voter)
                continue
            if not valid:
                recount.invalid_signatures.append(voter)
                continue
        power = powers.get(voter, 0)
        if power != int(weight):
            recount.weight_mismatches.append(
                {"voter": voter, "stored": str(int(weight)), "recounted": str(power), "source": source}
            )
        recount.counted[_SUPPORT_KEY[VoteSupportChoice(support)]] += power
    recount.quorum = quorum_votes(proposal.total_supply, proposal.quorum_fraction)
    recount.passed = quorum_reached(
        for_votes=recount.counted["for"], abstain_votes=recount.counted["abstain"], quorum=recount.quorum
    ) and vote_succeeded(for_votes=recount.counted["for"], against_votes=recount.counted["against"])
    return recount


def tally_export(proposal: Proposal, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything needed to recount independently: domain, snapshot, settings and every vote with its signature."""
    now = now or timezone.now()
    tally_attach([proposal])
    return {
        "proposal_id": proposal.pk,
        "title": proposal.title,
        "state": proposal_state(proposal, now),
        "governance_mode": proposal.governance_mode,
        "signed_proposal_id": str(proposal.ballot_proposal_id),  # what each ballot's proposalId is
        "domain": {
            "name": proposal.ballot_domain_name,
            "version": proposal.ballot_domain_version,
            "chainId": int(proposal.chain_id),
            "verifyingContract": proposal.verifying_contract,
        },
        "types": {"Ballot": BALLOT_TYPE, "ExtendedBallot": EXTENDED_BALLOT_TYPE},
        "signing": "a vote with reason_signed is an ExtendedBallot (its reason, params 0x); any other is a Ballot",
        "snapshot_block": int(proposal.snapshot_block),
        "total_supply": str(int(proposal.total_supply)),
        "quorum_fraction": str(proposal.quorum_fraction),
        "quorum": str(quorum_votes(proposal.total_supply, proposal.quorum_fraction)),
        "counting": "GovernorCountingSimple: quorum counts For + Abstain; passes when For > Against",
        "tally": {
            "for": str(int(proposal.for_votes)),
            "against": str(int(proposal.against_votes)),
            "abstain": str(int(proposal.abstain_votes)),
        },
        "passed": proposal_passed(proposal),
        "votes": [
            {
                "voter": v,
                "support": s,
                "weight": str(int(w)),
                "nonce": n,
                "signature": sig,
                "primary_type": "ExtendedBallot" if signed else "Ballot",
                "reason": r if signed else "",  # an unsigned reason is not the voter's: it is not published as such
                "reason_signed": signed,
                "submitted_by": by,
                "created_at": at.isoformat(),
            }
            for v, s, w, n, sig, r, signed, by, at in proposal.votes.order_by("pk").values_list(
                "voter",
                "support",
                "weight",
                "nonce",
                "signature",
                "reason",
                "reason_signed",
                "submitted_by",
                "created_at",
            )
        ],
    }
