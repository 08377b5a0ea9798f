"""Token authentication for machine clients: DRF's tokens, with malformed keys refused before any query."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

TOKEN_KEY = re.compile(r"[0-9a-f]{40}")  # rest_framework.authtoken keys: 20 random bytes as hex


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``; the request then acts as the token's user, with that user's permissions.

    A key that cannot be a token (wrong length, a NUL byte, …) is refused as an invalid token (401) without
    reaching the database, which would reject some such bytes with an error of its own.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        if not TOKEN_KEY.fullmatch(key):
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)
