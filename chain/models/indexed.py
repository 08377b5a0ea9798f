"""Rows the indexer writes. Each remembers the log it came from — block number and hash, transaction
hash and log index — so a duplicate delivery upserts the same row and a reorg rollback deletes what
orphaned blocks wrote (``checkpoint`` + ``block_number`` above the common ancestor)."""

from __future__ import annotations

from django.db import models

from chain.models.deployments import IndexerCheckpoint
from riskgov.core.models.fields import amount_field
from riskgov.core.models.uint256 import Int256Field, Uint256Field
from riskgov.markets.models import Market


class IndexedRow(models.Model):
    checkpoint = models.ForeignKey(IndexerCheckpoint, on_delete=models.CASCADE, related_name="+")
    block_number = models.BigIntegerField()
    block_hash = models.CharField(max_length=66)
    tx_hash = models.CharField(max_length=66)
    log_index = models.PositiveIntegerField()

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["tx_hash", "log_index"], name="%(app_label)s_%(class)s_unique_log"),
        ]


class ChainEvent(IndexedRow):
    """A raw decoded log of an indexed contract; integer args are decimal strings."""

    address = models.CharField(max_length=42)
    event = models.CharField(max_length=64)
    args = models.JSONField(default=dict)
    block_time = models.DateTimeField(null=True, blank=True, help_text="Timestamp of the block.")

    class Meta(IndexedRow.Meta):
        ordering = ["block_number", "log_index"]
        indexes = [models.Index(fields=["checkpoint", "block_number", "block_hash"], name="event_block_idx")]

    def __str__(self) -> str:
        return f"{self.event} @ {self.block_number}:{self.log_index}"


class VotingPowerCheckpoint(IndexedRow):
    """A delegatee's votes after a ``DelegateVotesChanged`` event (wei). The last one at or before a
    block is the voting power at that block, as ERC20Votes ``getPastVotes`` returns it."""

    delegatee = models.CharField(max_length=42)
    previous_votes = Uint256Field()
    votes = Uint256Field()

    class Meta(IndexedRow.Meta):
        ordering = ["block_number", "log_index"]
        indexes = [
            models.Index(fields=["checkpoint", "block_number"], name="votes_block_idx"),
            models.Index(fields=["checkpoint", "delegatee", "block_number", "log_index"], name="votes_at_block_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.delegatee} {self.votes} @ {self.block_number}"


class DelegationChange(IndexedRow):
    """``DelegateChanged``: ``delegator`` moved its votes from ``from_delegate`` to ``to_delegate``."""

    delegator = models.CharField(max_length=42)
    from_delegate = models.CharField(max_length=42)
    to_delegate = models.CharField(max_length=42)

    class Meta(IndexedRow.Meta):
        ordering = ["block_number", "log_index"]
        indexes = [
            models.Index(fields=["checkpoint", "block_number"], name="delegation_block_idx"),
            models.Index(fields=["checkpoint", "delegator", "block_number"], name="delegation_delegator_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.delegator} -> {self.to_delegate} @ {self.block_number}"


class TokenTransfer(IndexedRow):
    """A governance-token ``Transfer`` (wei); the zero address on one side is a mint or a burn."""

    sender = models.CharField(max_length=42)
    recipient = models.CharField(max_length=42)
    amount = Uint256Field()

    class Meta(IndexedRow.Meta):
        ordering = ["block_number", "log_index"]
        indexes = [
            models.Index(fields=["checkpoint", "block_number"], name="transfer_block_idx"),
            models.Index(fields=["checkpoint", "sender"], name="transfer_sender_idx"),
            models.Index(fields=["checkpoint", "recipient"], name="transfer_recipient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sender} -> {self.recipient} {self.amount}"


class TokenSupplyCheckpoint(IndexedRow):
    """Total supply (wei) after a mint or burn; the last one at or before a block is ``getPastTotalSupply``."""

    total_supply = Uint256Field()
    delta = Int256Field(help_text="Minted (>0) or burnt (<0), wei.")

    class Meta(IndexedRow.Meta):
        ordering = ["block_number", "log_index"]
        indexes = [models.Index(fields=["checkpoint", "block_number", "log_index"], name="supply_at_block_idx")]

    def __str__(self) -> str:
        return f"{self.total_supply} @ {self.block_number}"


class RegistryUpdate(IndexedRow):
    """A ``ParametersUpdated`` event of the on-chain registry. Rates are fractions; ``oi_cap`` is in
    base units per side, as the registry stores it (``MarginParameters.oi_cap`` is quote notional)."""

    # A deleted market takes its indexed updates along, like its positions and prices.
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="registry_updates")
    market_symbol = models.CharField(max_length=32, help_text='On-chain symbol, e.g. "ETH-USD".')
    version = models.PositiveIntegerField()
    # 1e18 fixed point on chain: 18 places keep every value exact.
    imr = amount_field()
    mmr = amount_field()
    max_leverage = amount_field()
    liquidation_penalty = amount_field()
    insurance_fee_share = amount_field()
    oi_cap = amount_field(help_text="Open-interest cap per side, base units.")

    class Meta(IndexedRow.Meta):
        ordering = ["market_symbol", "-version"]
        indexes = [models.Index(fields=["checkpoint", "block_number"], name="registry_block_idx")]

    def __str__(self) -> str:
        return f"{self.market_symbol} v{self.version}"
