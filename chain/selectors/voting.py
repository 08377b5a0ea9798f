"""Voting power and supply from the indexed governance-token checkpoints.

Same semantics as ERC20Votes: the value at ``block`` is the one in force at the end of that block
(the last checkpoint at or before it), in token wei. Asking about a block the indexer has not
reached yet raises :class:`BlockNotIndexed` instead of answering with a value that may be stale.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from chain.errors import ChainError
from chain.events import checksum
from chain.models import ContractRole, DelegationChange, IndexerCheckpoint, TokenSupplyCheckpoint, TokenTransfer
from chain.models import VotingPowerCheckpoint as Votes
from chain.selectors.deployments import active_deployment
from riskgov.core.models.uint256 import Uint256Sum

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class TokenNotIndexed(ChainError):
    """No active deployment (run ``manage.py chain_deploy``)."""


class BlockNotIndexed(ChainError):
    """The block is past what the indexer has read; retry once it has caught up."""

    def __init__(self, *, block: int, indexed_to: int) -> None:
        self.block = block
        self.indexed_to = indexed_to
        super().__init__(
            f"block {block} is not indexed yet (the token is indexed up to block {indexed_to}); retry in a few seconds"
        )


@dataclass(frozen=True)
class DelegationStatus:
    """A holder's token balance and votes (wei) and current delegate (``None`` when never delegated).

    ``needs_delegation`` is the governance UI's cue for the one-click self-delegation: tokens but no
    delegate, so the balance counts for nobody.
    """

    address: str
    balance: int
    delegate: str | None
    votes: int
    indexed_block: int

    @property
    def needs_delegation(self) -> bool:
        return self.balance > 0 and self.delegate is None

    @property
    def self_delegated(self) -> bool:
        return self.delegate == self.address


def _token_checkpoint() -> IndexerCheckpoint:
    deployment = active_deployment()
    checkpoint = (
        IndexerCheckpoint.objects.filter(deployment=deployment, role=ContractRole.GOV_TOKEN).first()
        if deployment is not None
        else None
    )
    if checkpoint is None:
        raise TokenNotIndexed("no governance token is deployed on this chain: run manage.py chain_deploy")
    return checkpoint


def _indexed(block: int) -> IndexerCheckpoint:
    checkpoint = _token_checkpoint()
    if block > checkpoint.block_number:
        raise BlockNotIndexed(block=block, indexed_to=checkpoint.block_number)
    return checkpoint


def latest_indexed_block() -> int:
    """The last block whose governance-token events are indexed (a safe snapshot block)."""
    return _token_checkpoint().block_number


def voting_power(address: str, block: int) -> int:
    """Votes (wei) delegated to ``address`` at the end of ``block`` — ``getPastVotes(address, block)``."""
    checkpoint = _indexed(block)
    votes = (
        Votes.objects.filter(checkpoint=checkpoint, delegatee=checksum(address), block_number__lte=block)
        .order_by("-block_number", "-log_index")
        .values_list("votes", flat=True)
        .first()
    )
    return int(votes or 0)


def total_supply(block: int) -> int:
    """Token supply (wei) at the end of ``block`` — ``getPastTotalSupply(block)``."""
    checkpoint = _indexed(block)
    supply = (
        TokenSupplyCheckpoint.objects.filter(checkpoint=checkpoint, block_number__lte=block)
        .order_by("-block_number", "-log_index")
        .values_list("total_supply", flat=True)
        .first()
    )
    return int(supply or 0)


def delegation_status(address: str) -> DelegationStatus:
    """Balance, delegate and votes of ``address`` at the latest indexed block."""
    checkpoint = _token_checkpoint()
    holder = checksum(address)
    flows = TokenTransfer.objects.filter(Q(recipient=holder) | Q(sender=holder), checkpoint=checkpoint).aggregate(
        received=Uint256Sum("amount", filter=Q(recipient=holder)), sent=Uint256Sum("amount", filter=Q(sender=holder))
    )
    # in integers: a Decimal difference would round to 28 digits
    balance = int(flows["received"] or 0) - int(flows["sent"] or 0)
    delegate = (
        DelegationChange.objects.filter(checkpoint=checkpoint, delegator=holder)
        .order_by("-block_number", "-log_index")
        .values_list("to_delegate", flat=True)
        .first()
    )
    votes = (
        Votes.objects.filter(checkpoint=checkpoint, delegatee=holder)
        .order_by("-block_number", "-log_index")
        .values_list("votes", flat=True)
        .first()
    )
    return DelegationStatus(
        address=holder,
        balance=int(balance),
        delegate=None if delegate in (None, ZERO_ADDRESS) else delegate,
        votes=int(votes or 0),
        indexed_block=checkpoint.block_number,
    )
