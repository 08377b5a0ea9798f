"""Django's error views, answering in the API error shape on API paths (a URL no route matches, a request
Django refuses before any view): a client of ``/…/api/…`` gets JSON, a person gets the page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from riskgov.core.errors import error_body


def is_api_path(request: HttpRequest) -> bool:
    return "/api/" in request.path and not request.path.startswith("/api/docs/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request):
        return JsonResponse(error_body(code="not_found", message="Not found."), status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request):
        return JsonResponse(error_body(code="bad_request", message=str(exception or "Bad request.")), status=400)
    return defaults.bad_request(request, exception)  # type: ignore[arg-type]


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_path(request):
        return JsonResponse(error_body(code="server_error", message="Server error."), status=500)
    return defaults.server_error(request)
