"""`/healthz`: 200 when the process can serve, 503 naming what fails (JSON). See README "Production"."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from riskgov.core.selectors.health import health_report


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and cache; with ``?deep=1`` also a worker ping and beat's heartbeat."""
    report = health_report(deep=request.GET.get("deep") in {"1", "true", "yes"})
    return JsonResponse(report.as_json(), status=200 if report.ok else 503)
