"""`make run`'s set-up in one Django start-up: pending migrations, then seed_demo (which skips what is done)."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Apply pending migrations and seed the demo (nothing to do on a set-up checkout). Options go to seed_demo."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7, help="Random seed of the demo protocol.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=1, stdout=self.stdout)
        call_command("seed_demo", seed=options["seed"], stdout=self.stdout, stderr=self.stderr)
