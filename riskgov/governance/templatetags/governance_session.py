"""The wallet a visitor signed in with (Sign-In with Ethereum), for the page header on every page."""

from __future__ import annotations

from django import template
from django.http import HttpRequest

from riskgov.governance.views.auth import wallet_address

register = template.Library()


@register.simple_tag
def signed_in_wallet(request: HttpRequest | None) -> str:
    """The checksummed address signed in with a wallet whose sign-in has not expired, else ""."""
    if request is None or not hasattr(request, "session"):
        return ""
    return wallet_address(request) or ""
