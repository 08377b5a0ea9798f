"""The API error handler (DRF ``EXCEPTION_HANDLER``): every refused request answers one JSON shape,

``{"error": {"code": ..., "message": ..., "field": ...}}``, whichever app raised it, so views never wrap a
service call in try/except.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from riskgov.core.errors import DomainError, error_body


def _first_error(detail: Any, prefix: str = "") -> tuple[str | None, str, str]:
    """(field path, message, code) of the first error in a DRF error detail tree."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = None if key in (NON_FIELD_ERRORS, "non_field_errors") else f"{prefix}{key}"
            field, message, code = _first_error(value, f"{name}." if name else prefix)
            return field or name, message, code
    if isinstance(detail, list) and detail:
        for index, item in enumerate(detail):
            if item:
                if isinstance(item, dict):
                    return _first_error(item, f"{prefix}{index}.")
                return _first_error(item, prefix)
    code = getattr(detail, "code", None) or "invalid"
    return None, str(detail), code


def _django_validation(error: DjangoValidationError) -> tuple[str | None, str, str]:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            first = errors[0]
            message = first.messages[0] if first.messages else str(first)
            return (None if field == NON_FIELD_ERRORS else field), message, first.code or "invalid"
    first_error = error.error_list[0] if hasattr(error, "error_list") else error
    return None, first_error.messages[0], getattr(first_error, "code", None) or "invalid"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler for its own exceptions, re-shaped; domain and Django validation errors become 4xx."""
    if isinstance(exc, DomainError):
        return Response(error_body(code=exc.code, message=exc.message, field=exc.field), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        field, message, code = _django_validation(exc)
        return Response(error_body(code=code, message=message, field=field), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        field, message, code = _first_error(exc.detail)
    else:
        field, message, code = None, str(exc.detail), exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
    response.data = error_body(code=str(code), message=message, field=field)
    return response
