from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from riskgov.core.errors import DomainError
from riskgov.core.services.api_tokens import api_token_create, api_token_revoke


class Command(BaseCommand):
    help = (
        "Create a new API token for a user (replacing the one they had) and print it, or revoke it with --revoke. "
        "Clients send it as 'Authorization: Token <key>' and act with that user's permissions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true", help="Delete the user's token instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        user = None if "\x00" in username else get_user_model()._default_manager.filter(username=username).first()
        if user is None:
            raise CommandError(f"username: no user named {username!r}.")
        if options["revoke"]:
            revoked = api_token_revoke(user=user, actor="manage.py api_token")
            self.stdout.write(f"Revoked the API token of {username}." if revoked else f"{username} had no API token.")
            return
        try:
            token = api_token_create(user=user, actor="manage.py api_token")
        except DomainError as error:
            raise CommandError(f"username: {error}") from error
        self.stdout.write(token.key)
