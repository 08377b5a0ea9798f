"""Requests no view can serve are refused before routing.

A NUL character cannot be stored in PostgreSQL text (psycopg raises ValueError), so a `%00` in a path
parameter (`/markets/<symbol>/`, a report's unsubscribe token, …) or in a query parameter would reach the
database and answer 500. It is refused here once, for every URL pattern present and to come: 400, in the
API error shape for clients that ask for JSON, Django's 400 page otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, JsonResponse

from riskgov.core.errors import error_body


def _nul_field(request: HttpRequest) -> str | None:
    """The part of the request that holds a NUL character: "path" or the query parameter's name."""
    if "\x00" in request.path_info:
        return "path"
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "")
    return None


class RejectNulCharactersMiddleware:
    """400 for a NUL character in the path or a query parameter (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = _nul_field(request)
        if field is None:
            return self.get_response(request)
        message = f"The {'path' if field == 'path' else f'parameter {field!r}'} contains a NUL character."
        if "text/html" in request.headers.get("Accept", ""):
            raise BadRequest(message)
        return JsonResponse(error_body(code="nul_character", message=message, field=field), status=400)
