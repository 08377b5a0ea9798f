"""Checking the named permissions (``riskgov.core.models.Permission``) in views, APIs and the admin.

A page answers an anonymous visitor with the login page and a signed-in user without the permission
with 403; an API answers 401/403 in the shared error shape. Every API view that writes declares who may:
``api_permission(Permission.X)``, or ``api_open_write(reason)`` where something else authorises the write
(a wallet signature); an API view that declares nothing is read-only (``ReadOnlyUnlessDeclared``).
The roles that hold these permissions are defined in ``riskgov.core.roles``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework.permissions import BasePermission

from riskgov.core.models import Permission

if TYPE_CHECKING:  # rest_framework.views reads the API settings, which name a class of this module
    from rest_framework.request import Request
    from rest_framework.views import APIView

View = Callable[..., HttpResponse]
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def has_permission(user: Any, permission: Permission) -> bool:
    """Whether ``user`` (possibly anonymous) holds ``permission``; superusers hold every one."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.has_perm(permission.perm))


def granted_permissions(user: Any) -> frozenset[Permission]:
    """Every named permission ``user`` (possibly anonymous) holds: pages show an action only to those allowed."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    return frozenset(permission for permission in Permission if user.has_perm(permission.perm))


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
            if safe_methods_open and request.method in SAFE_METHODS:
                return True
            return has_permission(request.user, permission)

    HasNamedPermission.__name__ = f"Has_{permission.value}"
    HasNamedPermission.named_permission = permission  # type: ignore[attr-defined]
    HasNamedPermission.safe_methods_open = safe_methods_open  # type: ignore[attr-defined]
    return HasNamedPermission


def api_open_write(reason: str) -> type[BasePermission]:
    """A DRF permission class for a write that no named permission guards, because ``reason`` authorises it."""

    class OpenWrite(BasePermission):
        def has_permission(self, request: Request, view: APIView) -> bool:
            return True

    OpenWrite.__name__ = "OpenWrite"
    OpenWrite.open_write_reason = reason  # type: ignore[attr-defined]
    return OpenWrite


class ReadOnlyUnlessDeclared(BasePermission):
    """The API default: reads are open, a write is refused until its view declares who may make it (a method
    the view has no handler for passes on, to be answered 405)."""

    message = "This API does not declare who may write to it."

    def has_permission(self, request: Request, view: APIView) -> bool:
        method = (request.method or "").lower()
        return request.method in SAFE_METHODS or not hasattr(view, method)


def csrf_verified(request: HttpRequest) -> bool:
    """Whether ``request`` passes Django's CSRF check (origin, referer and token), without refusing it."""
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    check.process_request(request)
    return check.process_view(request, lambda _request: HttpResponse(), (), {}) is None


def safe_next_url(request: HttpRequest, target: str | None, fallback: str) -> str:
    """``target`` when it stays on this site (no other host or scheme, no ``//host``), else ``fallback``."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
