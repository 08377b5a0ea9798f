"""What the governance pages show, gathered in a few queries per page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from insurance.selectors.compare import RunComparison, run_compare_pair
from insurance.selectors.coverage import run_headline
from riskgov.core.models import Permission
from riskgov.governance.domain.state import ACTIVE, PENDING, QUEUED, SUCCEEDED, executable
from riskgov.governance.domain.state import proposal_state as derive_state
from riskgov.governance.models import Proposal, ProposalExecution, ProposalState, Vote
from riskgov.governance.selectors.proposals import (
    ChangeRow,
    Tally,
    TimelineEntry,
    latest_recount,
    proposal_diff,
    proposal_tally,
    proposal_timeline,
    tally_attach,
)


@dataclass(frozen=True)
class CoverageSide:
    label: str
    run: Any
    headline: Any


@dataclass(frozen=True)
class ProposalPage:
    proposal: Proposal
    state: str
    state_label: str
    diff: list[ChangeRow]
    tally: Tally
    votes: list[Vote]
    timeline: list[TimelineEntry]
    impact: dict[str, Any]
    coverage: list[CoverageSide]
    coverage_preview: CoveragePreview
    recount: dict[str, Any] | None
    executions: list[ProposalExecution]
    viewer: str | None
    viewer_vote: Vote | None
    can_vote: bool
    can_cancel: bool
    can_queue: bool
    can_execute: bool
    can_veto: bool


@dataclass(frozen=True)
class CoveragePreview:
    """Where the paired coverage preview stands: queued (runs not frozen yet), running, done, or refused."""

    sides: list[CoverageSide]
    pending: bool  # the page keeps polling while this holds
    state: str  # "queued", "running", "done", "refused"
    comparison: RunComparison | None  # proposed − current, when both runs succeeded


def _coverage(proposal: Proposal) -> list[CoverageSide]:
    sides = []
    for label, run in (
        ("Current parameters", proposal.coverage_current),
        ("Proposed parameters", proposal.coverage_proposed),
    ):
        sides.append(CoverageSide(label, run, run_headline(run) if run is not None and run.metrics else None))
    return sides


def proposal_coverage_preview_state(proposal: Proposal) -> CoveragePreview:
    """The coverage preview of a proposal with its progress, and the paired deltas once both runs succeeded."""
    sides = _coverage(proposal)
    current, proposed = proposal.coverage_current, proposal.coverage_proposed
    if proposal.coverage_error:
        return CoveragePreview(sides, pending=False, state="refused", comparison=None)
    if current is None or proposed is None:
        return CoveragePreview(sides, pending=True, state="queued", comparison=None)
    if current.is_active or proposed.is_active:
        return CoveragePreview(sides, pending=True, state="running", comparison=None)
    return CoveragePreview(sides, pending=False, state="done", comparison=run_compare_pair(current, proposed))


def proposal_page(
    proposal: Proposal,
    *,
    viewer: str | None,
    granted: frozenset[Permission] = frozenset(),
    now: datetime | None = None,
) -> ProposalPage:
    now = now or timezone.now()
    tally_attach([proposal])
    state = derive_state(proposal, now)
    votes = list(proposal.votes.order_by("-weight", "created_at"))
    viewer_vote = next((v for v in votes if viewer and v.voter.lower() == viewer.lower()), None)
    return ProposalPage(
        proposal=proposal,
        state=state,
        state_label=str(ProposalState(state).label),
        diff=proposal_diff(proposal),
        tally=proposal_tally(proposal),
        votes=votes,
        timeline=proposal_timeline(proposal, now=now),
        impact=proposal.impact or {},
        coverage=_coverage(proposal),
        coverage_preview=proposal_coverage_preview_state(proposal),
        recount=latest_recount(proposal),
        executions=list(proposal.executions.select_related("market", "parameters")),
        viewer=viewer,
        viewer_vote=viewer_vote,
        can_vote=state == ACTIVE and viewer_vote is None,
        can_cancel=(state == PENDING and bool(viewer and viewer.lower() == proposal.proposer.lower()))
        or (state in (PENDING, ACTIVE, SUCCEEDED) and Permission.CANCEL_PROPOSAL in granted),
        can_queue=state == SUCCEEDED and Permission.QUEUE_PROPOSAL in granted,
        can_execute=state == QUEUED and executable(proposal, now) and Permission.EXECUTE_PROPOSAL in granted,
        can_veto=state == QUEUED and Permission.VETO_PROPOSAL in granted,
    )
