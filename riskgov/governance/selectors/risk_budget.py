"""A proposal's risk-budget attestations, for its page."""

from __future__ import annotations

from insurance.models import RiskAttestation
from riskgov.governance.models import Proposal, ProposalChangeRequest


def proposal_attestations(proposal: Proposal) -> list[dict[str, object]]:
    """A proposal's change requests, newest first, with each attestation: for its page."""
    links = (
        ProposalChangeRequest.objects.filter(proposal=proposal)
        .select_related("change_request__market", "change_request__version")
        .order_by("-change_request__pk")
    )
    requests = [link.change_request for link in links]
    attestations = {
        a.change_request_id: a for a in RiskAttestation.objects.filter(change_request__in=[r.pk for r in requests])
    }
    return [{"request": r, "attestation": attestations.get(r.pk)} for r in requests]
