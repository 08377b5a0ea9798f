"""The on-chain tally next to the ballots collected off-chain, for the proposal page.

Amounts are token wei. The on-chain side is the indexer's projection of the Governor's VoteCast events
(chain.selectors.governor); the off-chain side the accepted Vote rows and their relay statuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count

from chain.errors import ChainError
from chain.selectors import governor as governor_projection
from riskgov.core.models.uint256 import Uint256Sum
from riskgov.governance.models import GovernanceMode, Proposal, Vote, VoteRelayStatus


@dataclass(frozen=True)
class TallyFigures:
    for_votes: int = 0
    against_votes: int = 0
    abstain_votes: int = 0
    votes: int = 0

    @property
    def total(self) -> int:
        return self.for_votes + self.against_votes + self.abstain_votes


@dataclass
class OnchainComparison:
    """The Governor's tally next to the ballots the app collected, and which side is behind and why."""

    onchain: TallyFigures
    collected: TallyFigures
    counted: TallyFigures  # the collected ballots the relayer saw counted on chain
    relay_counts: dict[str, int] = field(default_factory=dict)
    source: str = "indexer"
    error: str = ""

    @property
    def matches(self) -> bool:
        return self.onchain == self.collected

    @property
    def differences(self) -> list[str]:
        notes: list[str] = []
        for label, name in (("For", "for_votes"), ("Against", "against_votes"), ("Abstain", "abstain_votes")):
            chain_value, app_value = getattr(self.onchain, name), getattr(self.collected, name)
            if chain_value != app_value:
                notes.append(f"{label}: {chain_value} wei on chain, {app_value} wei collected")
        if self.onchain.votes != self.collected.votes:
            notes.append(f"{self.onchain.votes} votes on chain, {self.collected.votes} ballots collected")
        return notes

    @property
    def pending(self) -> int:
        return self.relay_counts.get(VoteRelayStatus.PENDING, 0) + self.relay_counts.get(VoteRelayStatus.FAILED, 0)


def _collected(proposal: Proposal, **filters: object) -> TallyFigures:
    totals = {0: 0, 1: 0, 2: 0}
    count = 0
    rows = (
        Vote.objects.filter(proposal=proposal, **filters)
        .values("support")
        .annotate(w=Uint256Sum("weight"), n=Count("pk"))
    )
    for row in rows.order_by():
        totals[int(row["support"])] = int(row["w"] or Decimal(0))
        count += int(row["n"])
    return TallyFigures(for_votes=totals[1], against_votes=totals[0], abstain_votes=totals[2], votes=count)


def onchain_comparison(proposal: Proposal) -> OnchainComparison | None:
    """For an on-chain proposal on the Governor: its on-chain tally (indexed VoteCast events) next to the
    off-chain collected ballots, the relayed ones, and relay statuses; None for an off-chain or unproposed one."""
    if proposal.governance_mode != GovernanceMode.ONCHAIN or proposal.onchain_proposal_id is None:
        return None
    collected = _collected(proposal)
    counted = _collected(proposal, relay__status__in=[VoteRelayStatus.COUNTED, VoteRelayStatus.ALREADY_COUNTED])
    relay_counts = {
        row["relay__status"]: int(row["n"])
        for row in Vote.objects.filter(proposal=proposal, relay__isnull=False)
        .values("relay__status")
        .annotate(n=Count("pk"))
        .order_by()
    }
    pid = int(proposal.onchain_proposal_id)
    error = ""
    try:
        tally = governor_projection.onchain_tally(pid)
        votes = len(governor_projection.onchain_votes(pid))
        onchain = TallyFigures(
            for_votes=int(tally.for_), against_votes=int(tally.against), abstain_votes=int(tally.abstain), votes=votes
        )
    except ChainError as exc:  # no deployment indexed yet
        onchain, error = TallyFigures(), str(exc)
    return OnchainComparison(
        onchain=onchain, collected=collected, counted=counted, relay_counts=relay_counts, error=error
    )
