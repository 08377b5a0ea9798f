"""Template context shared by every page: the open-alert banner."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from riskgov.monitoring.selectors.monitoring import open_alert_banner


def open_alerts_banner(request: HttpRequest) -> dict[str, Any]:
    """Open alerts for the banner: a lazy callable, so pages that never show it run no query."""
    return {"alert_banner": open_alert_banner}
