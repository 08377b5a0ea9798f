"""On-chain mode: what the relayer did with each collected ballot.

The ballot itself is the Vote row (voter, support, nonce, signature, reason); a VoteRelay records its trip to
the Governor: sent in which transaction, with how much gas, counted, recognised as already counted, or
reverted with the decoded reason. Gas is in units of gas; the relayer pays it.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from riskgov.governance.models.governance import Vote


class VoteRelayStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be relayed"
    COUNTED = "counted", "Counted on chain"
    ALREADY_COUNTED = "already_counted", "Already counted on chain (not resent)"
    REVERTED = "reverted", "Reverted on chain"
    FAILED = "failed", "Not sent (error)"


RELAY_FINAL_STATUSES = (VoteRelayStatus.COUNTED, VoteRelayStatus.ALREADY_COUNTED, VoteRelayStatus.REVERTED)


class VoteRelay(models.Model):
    """One ballot's relay to the Governor (castVoteBySig / castVoteWithReasonAndParamsBySig)."""

    vote = models.OneToOneField(Vote, on_delete=models.CASCADE, related_name="relay")
    status = models.CharField(
        max_length=16, choices=VoteRelayStatus.choices, default=VoteRelayStatus.PENDING, db_index=True
    )
    relayer = models.CharField(max_length=42, blank=True, help_text="The account that paid for the transaction.")
    tx_hash = models.CharField(max_length=66, blank=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    gas_used = models.PositiveBigIntegerField(null=True, blank=True, help_text="Gas of the ballot's transaction.")
    revert_reason = models.TextField(blank=True, help_text="The decoded revert or the error, when not counted.")
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    relayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["vote__proposal", "vote__voter"]

    def __str__(self) -> str:
        return f"relay of {self.vote}: {self.status}"
