"""Which parameter change requests (risk-budget attestations) belong to which proposal's execution."""

from __future__ import annotations

from django.db import models

from riskgov.governance.models.governance import Proposal
from riskgov.markets.models import ParameterChangeRequest

__all__ = ["ProposalChangeRequest"]


class ProposalChangeRequest(models.Model):
    """A proposal's change of one market, held for its risk-budget attestation before the execution writes it."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="change_requests")
    change_request = models.OneToOneField(
        ParameterChangeRequest, on_delete=models.CASCADE, related_name="proposal_link"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["proposal", "-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Proposal #{self.proposal_id}: change request #{self.change_request_id}"
