from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chain.conf import chain_client
from chain.errors import ChainError
from chain.selectors.deployments import active_deployment
from chain.services.deployments import deployment_reindex


class Command(BaseCommand):
    help = (
        "Drop what the indexer wrote for the active deployment (raw events, token and registry rows, chain "
        "positions and prices) and index the chain again from the deployment block."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rpc-url", default=None, help="JSON-RPC endpoint (default CHAIN_RPC_URL)")

    def handle(self, *args: Any, **options: Any) -> None:
        deployment = active_deployment()
        if deployment is None:
            raise CommandError("no deployment recorded for CHAIN_ID: run manage.py chain_deploy first")
        try:
            runs = deployment_reindex(deployment=deployment, client=chain_client(options["rpc_url"]))
        except ChainError as error:
            raise CommandError(str(error)) from error
        errors = [f"{run.label}: {run.error}" for run in runs if run.error]
        if errors:
            raise CommandError("indexing failed: " + "; ".join(errors))
        self.stdout.write(
            f"Indexed {sum(run.events for run in runs)} events up to block {max(r.end_block for r in runs)}."
        )
