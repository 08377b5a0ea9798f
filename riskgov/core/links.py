"""Absolute links for what leaves the site (e-mail, webhooks, PDF): RISKGOV_BASE_URL as the prefix."""

from __future__ import annotations

from django.conf import settings


def site_base_url() -> str:
    """Absolute prefix for links in e-mail, webhooks and PDF (RISKGOV_BASE_URL), without a trailing slash."""
    return str(settings.RISKGOV_BASE_URL).rstrip("/")
