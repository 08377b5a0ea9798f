"""What the indexer reads from the RiskGovernor and its timelock: one row per log, like the other indexed rows,
so a duplicate delivery upserts the same row and a reorg rollback deletes what orphaned blocks wrote.

Proposal ids are the Governor's uint256 ``hashProposal`` and vote weights are token wei (both ``Uint256Field``);
``vote_start`` / ``vote_end`` are blocks (the Governor's clock is the token's block number).
"""

from __future__ import annotations

from django.db import models

from chain.models.indexed import IndexedRow
from riskgov.core.models.uint256 import Uint256Field


class GovernorProposal(IndexedRow):
    """``ProposalCreated``: the payload exactly as proposed (calldatas ``0x`` hex, values decimal strings)."""

    proposal_id = Uint256Field(db_index=True)
    proposer = models.CharField(max_length=42)
    targets = models.JSONField(default=list)
    values = models.JSONField(default=list)
    calldatas = models.JSONField(default=list)
    description = models.TextField()
    vote_start = models.PositiveBigIntegerField(help_text="Snapshot block: votes count as of this block.")
    vote_end = models.PositiveBigIntegerField(help_text="Last block of voting before any late-quorum extension.")

    class Meta(IndexedRow.Meta):
        ordering = ["block_number", "log_index"]
        indexes = [models.Index(fields=["checkpoint", "block_number"], name="gov_proposal_block_idx")]

    def __str__(self) -> str:
        return f"proposal {self.proposal_id} @ {self.block_number}"


class GovernorVote(IndexedRow):
    """``VoteCast`` or ``VoteCastWithParams`` (``with_params``): a vote counted on chain."""

    proposal_id = Uint256Field()
    voter = models.CharField(max_length=42)
    support = models.PositiveSmallIntegerField(help_text="0 Against, 1 For, 2 Abstain.")
    weight = Uint256Field()
    reason = models.TextField(blank=True)
    params = models.TextField(blank=True, help_text="0x hex (VoteCastWithParams), else empty.")
    with_params = models.BooleanField(default=False)

    class Meta(IndexedRow.Meta):
        ordering = ["block_number", "log_index"]
        indexes = [
            models.Index(fields=["checkpoint", "block_number"], name="gov_vote_block_idx"),
            models.Index(fields=["proposal_id", "voter"], name="gov_vote_proposal_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.voter} {self.support} on {self.proposal_id}"


class ProposalEventKind(models.TextChoices):
    QUEUED = "queued", "Queued"
    EXECUTED = "executed", "Executed"
    CANCELED = "canceled", "Canceled"
    EXTENDED = "extended", "Deadline extended (late quorum)"


class GovernorProposalEvent(IndexedRow):
    """``ProposalQueued`` (``eta``, unix seconds), ``ProposalExecuted``, ``ProposalCanceled`` or
    ``ProposalExtended`` (``extended_deadline``, a block)."""

    proposal_id = Uint256Field(db_index=True)
    kind = models.CharField(max_length=8, choices=ProposalEventKind.choices)
    eta = models.PositiveBigIntegerField(null=True, blank=True)
    extended_deadline = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta(IndexedRow.Meta):
        ordering = ["block_number", "log_index"]
        indexes = [models.Index(fields=["checkpoint", "block_number"], name="gov_pevent_block_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.proposal_id} @ {self.block_number}"


class TimelockEventKind(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    EXECUTED = "executed", "Executed"
    CANCELLED = "cancelled", "Cancelled"


class TimelockEvent(IndexedRow):
    """The timelock's ``CallScheduled`` / ``CallExecuted`` (one per call of a batch, ``index``) and ``Cancelled``."""

    operation_id = models.CharField(max_length=66, db_index=True)
    kind = models.CharField(max_length=9, choices=TimelockEventKind.choices)
    call_index = models.PositiveIntegerField(null=True, blank=True)
    target = models.CharField(max_length=42, blank=True)
    value = Uint256Field(null=True, blank=True)
    data = models.TextField(blank=True, help_text="0x hex calldata.")
    predecessor = models.CharField(max_length=66, blank=True)
    delay = models.PositiveBigIntegerField(null=True, blank=True, help_text="Seconds (CallScheduled).")

    class Meta(IndexedRow.Meta):
        ordering = ["block_number", "log_index"]
        indexes = [models.Index(fields=["checkpoint", "block_number"], name="timelock_event_block_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.operation_id} @ {self.block_number}"
