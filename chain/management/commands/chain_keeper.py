from __future__ import annotations

import random
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chain.conf import chain_client, demo_mode
from chain.errors import ChainError
from chain.selectors.deployments import active_deployment
from chain.services.keeper import demo_prices_push
from chain.units import from_fixed


class Command(BaseCommand):
    help = "Demo only: publish a small price move on every feed every --interval seconds (keeps prices fresh)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between rounds")
        parser.add_argument("--rounds", type=int, default=0, help="stop after this many rounds (0: run forever)")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if not demo_mode():
            raise CommandError("the demo price keeper signs with Anvil's dev keys and needs RISKGOV_DEMO_MODE=1")
        rng = random.Random(options["seed"])  # noqa: S311 - demo price moves, not security
        done = 0
        while options["rounds"] == 0 or done < options["rounds"]:
            if done:
                time.sleep(options["interval"])
            deployment = active_deployment()
            if deployment is None:
                raise CommandError("no deployment recorded for CHAIN_ID: run manage.py chain_deploy first")
            try:
                pushes = demo_prices_push(client=chain_client(), deployment=deployment, rng=rng)
            except ChainError as error:
                # The node may be restarting: report and try again next round.
                self.stderr.write(f"price round failed: {error}")
            else:
                decimals = deployment.feed_decimals
                self.stdout.write(
                    ", ".join(f"{p.symbol} {from_fixed(p.answer, int(decimals.get(p.symbol, 8)))}" for p in pushes)
                )
            done += 1
