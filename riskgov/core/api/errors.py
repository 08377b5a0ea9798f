"""The API error handler (DRF ``EXCEPTION_HANDLER``): every refused request answers one JSON shape,

``{"error": {"code": ..., "message": ..., "field": ...}}``, whichever app raised it, so views never wrap a
service call in try/except. Nested input errors name their path, e.g. ``parameter_overrides.ETH.mmr``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler, set_rollback

from riskgov.core.errors import DomainError, error_body


def _is_whole_request(key: object) -> bool:
    return key in (NON_FIELD_ERRORS, api_settings.NON_FIELD_ERRORS_KEY)


def _first_error(detail: Any, path: tuple[str, ...] = ()) -> tuple[str | None, str, str]:
    """(field path, message, code) of the first error in a DRF error detail tree."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if value:
                return _first_error(value, path if _is_whole_request(key) else (*path, str(key)))
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if item:  # a list serializer's errors hold {} for the valid items
                return _first_error(item, (*path, str(index)) if isinstance(item, dict) else path)
    else:
        return ".".join(path) or None, str(detail), getattr(detail, "code", None) or "invalid"
    return ".".join(path) or None, "Invalid input.", "invalid"


def _django_validation(error: DjangoValidationError) -> tuple[str | None, str, str]:
    """(field, message, code) of the first error of a model or service ValidationError."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            first = errors[0]
            return (None if _is_whole_request(field) else field), first.messages[0], first.code or "invalid"
    first = error.error_list[0]
    return None, first.messages[0], first.code or "invalid"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler for its own exceptions, re-shaped; domain and Django validation errors become 4xx.

    Anything else (a bug) is left to DRF, which re-raises it: a 500, never a refusal in disguise.
    """
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(
            error_body(code=exc.code, message=exc.message, field=exc.field),
            status=exc.status,
            headers=getattr(exc, "headers", None),  # e.g. Retry-After on a rate-limit refusal
        )
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        field, message, code = _django_validation(exc)
        return Response(error_body(code=code, message=message, field=field), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    field, message, code = _first_error(exc.detail)
    response.data = error_body(code=str(code), message=message, field=field)
    return response
