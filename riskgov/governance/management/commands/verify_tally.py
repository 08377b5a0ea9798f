"""Recount a proposal from its stored signatures and the voting power at the snapshot (from the chain node when
one answers, else from the indexer's rows, as the output says)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from riskgov.governance.models import Proposal
from riskgov.governance.selectors.proposals import RECOUNT_SOURCE_CHAIN, proposal_recount


class Command(BaseCommand):
    help = (
        "Re-verify every signature of a proposal, re-read each voter's power at the snapshot (getPastVotes on the "
        "chain node; the indexed rows when no node answers) and compare with the stored tally."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("proposal_id", type=int)
        parser.add_argument("--json", action="store_true", help="print the full recount as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        proposal = Proposal.objects.filter(pk=options["proposal_id"]).first()
        if proposal is None:
            raise CommandError(f"there is no proposal #{options['proposal_id']}")
        recount = proposal_recount(proposal)
        if options["json"]:
            self.stdout.write(json.dumps(recount.as_dict(), indent=2))
        else:
            style = self.style.SUCCESS if recount.source == RECOUNT_SOURCE_CHAIN else self.style.WARNING
            self.stdout.write(style(f"  source: {recount.source} — {recount.source_note}"))
            for key in ("for", "against", "abstain"):
                counted, stored = recount.counted[key] / 10**18, recount.stored[key] / 10**18
                self.stdout.write(f"{key:>8}: counted {counted:,.4f}  stored {stored:,.4f}")
            self.stdout.write(f"   votes: {recount.votes} at snapshot block {recount.snapshot_block}")
            for voter in recount.invalid_signatures:
                self.stdout.write(self.style.ERROR(f"invalid signature: {voter}"))
            for voter in recount.unverified_signatures:
                self.stdout.write(self.style.ERROR(f"not verified (contract wallet, node unreachable): {voter}"))
            for row in recount.weight_mismatches:
                self.stdout.write(
                    self.style.ERROR(
                        f"weight differs: {row['voter']} stored {row['stored']} {row['source']} {row['recounted']}"
                    )
                )
        if not recount.matches:
            raise CommandError(f"proposal #{proposal.pk}: the recount does NOT match the stored tally")
        self.stdout.write(self.style.SUCCESS(f"proposal #{proposal.pk}: recount matches the stored tally"))
