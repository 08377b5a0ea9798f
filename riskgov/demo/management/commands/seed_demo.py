import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from riskgov.demo.services.insurance import insurance_demo_seed
from riskgov.demo.services.liquidations import liquidations_demo_seed
from riskgov.demo.services.markets import (
    DEMO_PASSWORD,
    DEMO_ROLE_USERS,
    DEMO_USERNAME,
    DemoError,
    demo_is_seeded,
    demo_role_users_ensure,
    demo_seed,
    demo_seed_info,
    demo_user_ensure,
)
from riskgov.demo.services.risk import demo_risk_seed
from riskgov.demo.services.risk_budget import DEMO_BUDGETS, demo_risk_budgets_seed


class Command(BaseCommand):
    help = (
        "Build the demo protocol (markets, genesis parameters, hourly prices, accounts, positions, exposure "
        "snapshot history), deterministic for --seed. Does nothing when the demo is already there unless --reset. "
        f"Also creates the superuser {DEMO_USERNAME}/{DEMO_PASSWORD} and one login per role "
        f"({', '.join(DEMO_ROLE_USERS)}; password = username) when missing: for demos only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7, help="Random seed (same seed, same protocol).")
        parser.add_argument("--positions", type=int, default=20_000, help="Open positions to create.")
        parser.add_argument("--days", type=int, default=180, help="Days of hourly prices per market.")
        parser.add_argument("--snapshot-days", type=int, default=7, help="Days of hourly exposure snapshots.")
        parser.add_argument("--reset", action="store_true", help="Delete the demo markets' data and rebuild it.")
        parser.add_argument("--no-progress", action="store_true", help="Do not show a progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if demo_user_ensure():
            self.stdout.write(f"Created superuser {DEMO_USERNAME} / {DEMO_PASSWORD} (demo only).")
        for username in demo_role_users_ensure():
            role = DEMO_ROLE_USERS[username]
            self.stdout.write(f"Created {role.value.lower()} login {username} / {username} (demo only).")
        if demo_is_seeded() and not options["reset"]:
            info = demo_seed_info() or {}
            self.stdout.write(
                f"Demo data already present (seed {info.get('seed', '?')}); nothing to do. Use --reset to rebuild it."
            )
            self._liquidations(options["seed"])
            self._insurance(options["seed"], options["days"])
            return
        started = time.monotonic()
        bar: tqdm | None = None

        def progress(stage: str, done: int, total: int) -> None:
            nonlocal bar
            if stage != "exposure snapshots":
                self.stdout.write(f"  {stage}: {done:,} ({time.monotonic() - started:.1f} s)")
                return
            if options["no_progress"]:
                return
            if bar is None:
                bar = tqdm(total=total, desc=stage, unit="set", file=sys.stderr, leave=False)
            bar.update(done - bar.n)

        try:
            result = demo_seed(
                seed=options["seed"],
                positions=options["positions"],
                days=options["days"],
                snapshot_days=options["snapshot_days"],
                reset=options["reset"],
                progress=progress,
            )
        except DemoError as error:
            raise CommandError(str(error)) from error
        finally:
            if bar is not None:
                bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo protocol seeded (seed {result.seed}) in {time.monotonic() - started:.1f} s: "
                f"{result.markets} markets, {result.prices:,} prices, {result.accounts:,} accounts, "
                f"{result.open_positions:,} open / {result.closed_positions:,} closed / "
                f"{result.liquidated_positions:,} liquidated positions "
                f"({result.near_liquidation} within 5 % of liquidation, {result.liquidatable} liquidatable), "
                f"{result.snapshot_sets} snapshot sets."
            )
        )
        self._liquidations(options["seed"])
        self._insurance(options["seed"], options["days"])

    def _liquidations(self, seed: int) -> None:
        started = time.monotonic()
        created = liquidations_demo_seed(seed=seed)
        if created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo liquidation history: {created:,} liquidations in {time.monotonic() - started:.1f} s."
                )
            )

    def _insurance(self, seed: int, days: int) -> None:
        started = time.monotonic()
        try:
            fund = insurance_demo_seed(seed=seed, days=days)
        except DemoError as error:
            raise CommandError(str(error)) from error
        if fund is not None:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo insurance fund with {days} days of ledger history and a baseline coverage run "
                    f"in {time.monotonic() - started:.1f} s."
                )
            )
        if demo_risk_seed():
            self.stdout.write(
                self.style.SUCCESS(
                    "Demo margin policies, oracle feeds and alert rules; first recommendations and alert sweep done."
                )
            )
        budgeted = demo_risk_budgets_seed()
        if budgeted:
            limits = ", ".join(
                f"{symbol} (ΔP(fund exhausted) ≤ {DEMO_BUDGETS[symbol][0]:.2%}, ΔES99 ≤ {DEMO_BUDGETS[symbol][1]:,.0f})"
                for symbol in budgeted
            )
            self.stdout.write(self.style.SUCCESS(f"Demo risk budgets: changes of {limits} wait for a paired run."))
