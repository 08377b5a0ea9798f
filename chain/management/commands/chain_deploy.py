from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chain.anvil import rpc_chain_id
from chain.client import redact_url
from chain.conf import ExecutorKeyError, chain_client, demo_mode, executor_check
from chain.errors import ChainError, ChainIdMismatch
from chain.services.deployments import protocol_deploy


class Command(BaseCommand):
    help = (
        "Deploy the protocol contracts unless the node already has the recorded deployment, record the "
        "addresses, optionally populate the demo (--demo), and index the chain into the database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rpc-url", default=None, help="JSON-RPC endpoint (default CHAIN_RPC_URL)")
        parser.add_argument("--demo", action="store_true", help="mint, delegate, price and trade with dev keys")
        parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the node to answer")
        parser.add_argument(
            "--governance",
            choices=["offchain", "onchain"],
            default=None,
            help="offchain: the executor account owns the registry; onchain: a RiskGovernor and its timelock, "
            "which owns the registry (default RISKGOV_GOVERNANCE_MODE)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["rpc_url"] or settings.CHAIN_RPC_URL
        deadline = time.monotonic() + options["wait"]
        while rpc_chain_id(url, timeout=1.0) is None:
            if time.monotonic() >= deadline:
                raise CommandError(f"no JSON-RPC node answers at {redact_url(url)} after {options['wait']:.0f}s")
            time.sleep(0.5)
        try:
            client = chain_client(url)
        except ChainIdMismatch as error:
            raise CommandError(
                f"the node at {redact_url(url)} serves chain {error.reported}, but CHAIN_ID is {error.configured}: "
                "point CHAIN_RPC_URL at the right node or set CHAIN_ID"
            ) from error
        try:
            outcome = protocol_deploy(client=client, demo=options["demo"], governance_mode=options["governance"])
            # On-chain the timelock owns the registry: no server key is meant to.
            if not outcome.deployment.onchain_governance and (settings.CHAIN_EXECUTOR_KEY or demo_mode()):
                executor_check(client, registry=outcome.deployment.registry)
        except (ChainError, ExecutorKeyError) as error:
            raise CommandError(str(error)) from error
        deployment = outcome.deployment
        verb = "Deployed" if outcome.deployed else "Already deployed"
        self.stdout.write(
            f"{verb} on chain {deployment.chain_id} from block {deployment.deployment_block} "
            f"({deployment.governance_mode} governance):"
        )
        for role, address, symbol in deployment.contract_addresses():
            self.stdout.write(f"  {role:<12} {symbol:<8} {address}")
        if outcome.demo is not None:
            demo = outcome.demo
            self.stdout.write(
                f"Demo: {len(demo['holders'])} holders, {len(demo['open_position_ids'])} open positions, "
                f"{demo['price_updates']} price updates"
            )
        events = sum(run.events for run in outcome.index_runs)
        self.stdout.write(f"Indexed {events} events.")
        if outcome.index_errors:
            raise CommandError("indexing failed: " + "; ".join(outcome.index_errors))
