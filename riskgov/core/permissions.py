"""Checking the named permissions (``riskgov.core.models.Permission``) in views and APIs.

A page answers an anonymous visitor with the login page and a signed-in user without the permission
with 403; an API answers 401/403 in the shared error shape.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from riskgov.core.models import Permission

View = Callable[..., HttpResponse]


def has_permission(user: Any, permission: Permission) -> bool:
    """Whether ``user`` (possibly anonymous) holds ``permission``; superusers hold every one."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.has_perm(permission.perm))


def permission_required(permission: Permission) -> Callable[[View], View]:
    """Page decorator: the login page for anonymous visitors, 403 for users without ``permission``."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_permission(request.user, permission):
                raise PermissionDenied(f"This needs the permission: {permission.label}.")
            return view(request, *args, **kwargs)

        return guarded

    return decorate


def require(permission: Permission, request: HttpRequest) -> None:
    """Raise ``PermissionDenied`` unless the request's user holds ``permission`` (for actions inside a view)."""
    if not has_permission(request.user, permission):
        raise PermissionDenied(f"This needs the permission: {permission.label}.")


def api_permission(permission: Permission, *, safe_methods_open: bool = False) -> type[BasePermission]:
    """A DRF permission class asking for ``permission`` (optionally only for unsafe methods)."""

    class HasNamedPermission(BasePermission):
        message = f"This needs the permission: {permission.label}."

        def has_permission(self, request: Request, view: APIView) -> bool:
            if safe_methods_open and request.method in ("GET", "HEAD", "OPTIONS"):
                return True
            return has_permission(request.user, permission)

    HasNamedPermission.__name__ = f"Has_{permission.value}"
    return HasNamedPermission
