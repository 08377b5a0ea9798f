"""Impact previews of a proposal being written: requested from the create form, computed on the workers.

A preview runs the same checks as proposal creation (markets, fields, numbers, guardrails, the proposer's voting
power against the threshold), so what it shows is what the proposal would be; the workers then compute the
position figures and start the paired coverage runs (current vs proposed parameters on the same paths). Nothing
is proposed by previewing. Values are as in MarginParameters (rates fractions, max leverage a multiple).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from eth_utils import is_address, to_checksum_address

from insurance.models import RunPurpose
from insurance.services.coverage_pairs import coverage_pair_attach
from riskgov.core import dispatch
from riskgov.governance.errors import ProposalRejected
from riskgov.governance.models import ImpactPreview, Proposal
from riskgov.governance.selectors import chain_reads
from riskgov.governance.selectors.impact import proposal_impact
from riskgov.governance.services.proposals import (
    COVERAGE_PREVIEW_PATHS,
    ChangeInput,
    governance_settings_get,
    proposal_changes_check,
    proposal_overrides,
)

IMPACT_PREVIEW_TASK = "riskgov.governance_impact_preview"
IMPACT_PREVIEW_SEED_BASE = 9_000_000


def impact_preview_request(
    *, requested_by: str, changes: Sequence[ChangeInput], now: datetime | None = None
) -> ImpactPreview:
    """Check `changes` as proposal creation would and send their preview to the workers on commit.

    `requested_by` is the signed-in address; it needs the proposal threshold, as proposing does (previews start
    simulations). Raises ProposalRejected with field errors; writes nothing then.
    """
    now = now or timezone.now()
    if not is_address(requested_by):
        raise ProposalRejected({"proposer": ["Sign in with a wallet to preview the impact of a proposal."]})
    grouped, _ = proposal_changes_check(changes, now=now)
    address = to_checksum_address(requested_by)
    threshold = governance_settings_get().proposal_threshold
    power = chain_reads.voting_power_at(address, chain_reads.latest_block())
    if power < threshold:
        raise ProposalRejected(
            {
                "proposer": [
                    f"Voting power {Decimal(power) / 10**18:,.2f} is below the proposal threshold of "
                    f"{threshold / 10**18:,.2f} votes needed to preview (and to propose)."
                ]
            },
            code="below_threshold",
        )
    with transaction.atomic():
        preview = ImpactPreview.objects.create(
            requested_by=address,
            created_at=now,
            changes={s: {f: None if v is None else str(v) for f, v in fs.items()} for s, fs in grouped.items()},
        )
        dispatch.send_on_commit(IMPACT_PREVIEW_TASK, preview_id=preview.pk)
    return preview


def impact_preview_changes(preview: ImpactPreview) -> dict[str, dict[str, Decimal | None]]:
    """The previewed changes as {market symbol: {field: value}}."""
    return {
        symbol: {field: None if value is None else Decimal(value) for field, value in fields.items()}
        for symbol, fields in preview.changes.items()
    }


def impact_preview_compute(*, preview_id: int, now: datetime | None = None) -> ImpactPreview:
    """On a worker: the position figures, then the paired coverage runs (started once; safe to run twice).

    A refused coverage pair (no fund, bad inputs) is recorded in `coverage_error`, never raised.
    """
    now = now or timezone.now()
    with transaction.atomic():
        preview = ImpactPreview.objects.select_for_update().get(pk=preview_id)
        changes = impact_preview_changes(preview)
        if preview.impact_computed_at is None:
            preview.impact = proposal_impact(changes)
            preview.impact_computed_at = now
            preview.save(update_fields=["impact", "impact_computed_at"])
        coverage_pair_attach(
            preview,
            label=f"Impact preview #{preview.pk}",
            requested_by=f"impact-preview:{preview.pk}",
            overrides=changes,
            purpose=RunPurpose.PROPOSAL_IMPACT,
            seed=IMPACT_PREVIEW_SEED_BASE + int(preview.pk),
            at=now,
            paths=COVERAGE_PREVIEW_PATHS,
        )
    return preview


PREVIEW_ADOPT_WITHIN = timedelta(minutes=30)


def proposal_impact_preview_adopt(*, proposal_id: int, preview_id: int, now: datetime | None = None) -> bool:
    """Give a new proposal the coverage runs its create-form preview started, so the figures shown before
    submitting are the proposal's own; returns whether they were adopted.

    Only a preview of exactly the proposal's changes, asked for by its proposer within PREVIEW_ADOPT_WITHIN, whose
    runs exist, and only while the proposal has no runs of its own (the preview task, sent on creation, then
    finds them and starts nothing).
    """
    now = now or timezone.now()
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().get(pk=proposal_id)
        preview = ImpactPreview.objects.filter(pk=preview_id).first()
        if preview is None or proposal.coverage_current_id is not None or proposal.coverage_error:
            return False
        if preview.coverage_current_id is None or preview.coverage_proposed_id is None:
            return False
        if preview.requested_by.lower() != proposal.proposer.lower() or preview.created_at < now - PREVIEW_ADOPT_WITHIN:
            return False
        if impact_preview_changes(preview) != proposal_overrides(proposal):
            return False
        proposal.coverage_current_id, proposal.coverage_proposed_id = (
            preview.coverage_current_id,
            preview.coverage_proposed_id,
        )
        proposal.save(update_fields=["coverage_current", "coverage_proposed"])
    return True
