"""Late-quorum protection (OpenZeppelin GovernorPreventLateQuorum): the vote that first reaches quorum keeps
voting open for the proposal's frozen `vote_extension_seconds` after it, once.

The check runs after each accepted vote, under the proposal's row lock, against the tally of committed votes;
the first vote to find quorum reached records `quorum_reached_at`, and moves `voting_ends_at` when that vote came
within the extension of the end. Every later vote finds `quorum_reached_at` set and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from riskgov.core.models import AuditAction
from riskgov.core.services.audit import audit_record
from riskgov.governance.domain.state import late_quorum_deadline, quorum_reached, quorum_votes
from riskgov.governance.models import Proposal
from riskgov.governance.selectors.proposals import tally_attach


def proposal_late_quorum_check(*, proposal_id: int, vote_at: datetime) -> Proposal:
    """Record the first time quorum is reached and extend voting when it came late; returns the proposal.

    `vote_at` is the accepted vote's time. Safe to call for every vote and to call twice.
    """
    decided = Proposal.objects.filter(pk=proposal_id, quorum_reached_at__isnull=False).first()
    if decided is not None:
        return decided  # an earlier vote reached quorum: no lock taken
    with transaction.atomic():
        # NO KEY UPDATE: concurrent vote inserts hold KEY SHARE on this row through their foreign key
        proposal = Proposal.objects.select_for_update(no_key=True).get(pk=proposal_id)
        if proposal.quorum_reached_at is not None:
            return proposal
        tally_attach([proposal])
        quorum = quorum_votes(proposal.total_supply, proposal.quorum_fraction)
        if not quorum_reached(for_votes=proposal.for_votes, abstain_votes=proposal.abstain_votes, quorum=quorum):
            return proposal
        proposal.quorum_reached_at = vote_at
        fields = ["quorum_reached_at"]
        extended = late_quorum_deadline(
            voting_ends_at=proposal.voting_ends_at,
            vote_at=vote_at,
            vote_extension_seconds=proposal.vote_extension_seconds,
        )
        scheduled_end = proposal.voting_ends_at
        if extended is not None:
            proposal.voting_extended_from, proposal.voting_ends_at = scheduled_end, extended
            fields += ["voting_extended_from", "voting_ends_at"]
        proposal.save(update_fields=fields)
        if extended is not None:
            audit_record(
                action=AuditAction.PROPOSAL_VOTING_EXTENDED,
                subject=proposal,
                actor="system",
                data={
                    "from": scheduled_end.isoformat(),
                    "to": extended.isoformat(),
                    "quorum_reached_at": vote_at.isoformat(),
                    "vote_extension_seconds": proposal.vote_extension_seconds,
                },
            )
    return proposal
