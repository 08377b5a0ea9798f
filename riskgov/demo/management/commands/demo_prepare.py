"""`make run`'s set-up in one Django start-up: pending migrations, then seed_demo (which skips what is done)."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from riskgov.demo.services.governance import (
    DemoDatabaseUnfit,
    demo_onchain_database_check,
    demo_onchain_governance_settings,
)


class Command(BaseCommand):
    help = "Apply pending migrations and seed the demo (nothing to do on a set-up checkout). Options go to seed_demo."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7, help="Random seed of the demo protocol.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            demo_onchain_database_check()
        except DemoDatabaseUnfit as error:
            raise CommandError(str(error)) from error
        call_command("migrate", interactive=False, verbosity=1, stdout=self.stdout)
        call_command("seed_demo", seed=options["seed"], stdout=self.stdout, stderr=self.stderr)
        windows = demo_onchain_governance_settings()
        if windows:
            self.stdout.write(
                "On-chain governance demo: voting opens after {voting_delay_seconds} s and lasts "
                "{voting_period_seconds} s; the timelock holds a queued proposal {timelock_seconds} s.".format(
                    **windows
                )
            )
