"""Rate limits: the one mechanism that caps how often a client may ask for expensive or abusable work.

Counters are django-ratelimit's fixed windows in the shared ``default`` cache (Redis when it answers, a file
cache under ``var/`` otherwise), so every gunicorn worker counts together. Each scope in
``settings.RISKGOV_RATE_LIMITS`` has a rate per client IP (``"ip"``) and, where the request names one, per
subject (``"subject"``: an address or a username), written as django-ratelimit rates (``"20/m"``,
``"5/15m"``). A refused request raises `RateLimited` (429, code ``rate_limited``, a ``Retry-After``
header): the API error handler answers it with the shared JSON error shape, `RateLimitMiddleware` with
JSON for JSON requests and a plain page otherwise.

Sign-in lockout: `LockoutModelBackend` refuses any password sign-in (admin, API, session) for a username
from an IP that failed ``RISKGOV_LOGIN_LOCKOUT`` times in the window, even with the right password.

django-ratelimit is not in INSTALLED_APPS: its system check rejects the file cache the zero-setup run
falls back to (its increments are not atomic, which only loosens the limit a little under a race).
A cache that does not answer leaves requests through (logged): a limit never takes the site down.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django_ratelimit.core import get_usage

from riskgov.core.errors import DomainError, error_body

logger = logging.getLogger(__name__)

View = TypeVar("View", bound=Callable[..., Any])

# What a scope counts, for the refusal's sentence ("Too many votes ...").
SCOPE_WORDS = {
    "login": "sign-in attempts",
    "siwe_nonce": "sign-in messages",
    "siwe_verify": "wallet sign-ins",
    "vote": "votes",
    "proposal_create": "proposals",
    "coverage_run_create": "coverage runs",
    "recount": "recounts",
    "impact_preview": "impact previews",
    "subscribe": "subscription requests",
}
LOCKOUT_GROUP = "riskgov.login_failures"


class RateLimited(DomainError):
    """Too many requests in a scope; `retry_after` is the number of seconds until the window resets."""

    status = 429
    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(f"{message}; retry in {self.retry_after} s.")

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def client_ip(request: HttpRequest) -> str:
    """The address counted as the client (REMOTE_ADDR, or RATELIMIT_IP_META_KEY behind a proxy)."""
    meta_key = getattr(settings, "RATELIMIT_IP_META_KEY", None)
    value = str(request.META.get(meta_key or "REMOTE_ADDR", "") or request.META.get("REMOTE_ADDR", ""))
    return value.split(",", maxsplit=1)[0].strip() or "unknown"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _usage(request: HttpRequest, *, group: str, value: str, rate: str, increment: bool) -> dict[str, Any] | None:
    try:
        return get_usage(request, group=group, key=lambda _group, _request: value, rate=rate, increment=increment)
    except Exception:  # a cache that does not answer must not turn every limited page into a 500
        logger.warning("rate limit cache unavailable; %s not counted", group, exc_info=True)
        return None


def _scope_rates(scope: str) -> dict[str, str | None]:
    limits: dict[str, dict[str, str | None]] = getattr(settings, "RISKGOV_RATE_LIMITS", {})
    return limits.get(scope, {})


def rate_limit_check(request: HttpRequest, scope: str, *, subject: str | None = None) -> None:
    """Count one request of `scope` for the client IP and, when given, for `subject` (address, username).

    Raises RateLimited when either count is over its rate; a scope or key without a rate is not limited.
    """
    rates = _scope_rates(scope)
    keys = [("ip", "from this address", client_ip(request))]
    if subject:
        keys.append(("subject", f"for {subject}", subject.lower()))
    refused: list[tuple[str, int]] = []
    for kind, who, value in keys:
        rate = rates.get(kind)
        if not rate:
            continue
        usage = _usage(request, group=f"riskgov.{scope}.{kind}", value=_digest(value), rate=rate, increment=True)
        if usage is not None and usage["should_limit"]:
            refused.append((who, int(usage["time_left"])))
    if refused:
        who, retry_after = max(refused, key=lambda item: item[1])
        raise RateLimited(f"Too many {SCOPE_WORDS.get(scope, 'requests')} {who}", retry_after=retry_after)


def rate_limited(
    scope: str, *, subject: Callable[[HttpRequest], str | None] | None = None, methods: tuple[str, ...] = ("POST",)
) -> Callable[[View], View]:
    """View decorator: `rate_limit_check` for requests with one of `methods` before the view runs.

    On a DRF function view put it under ``@api_view`` so the API error handler answers the refusal.
    """

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if request.method in methods:
                rate_limit_check(request, scope, subject=subject(request) if subject else None)
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return (
        request.content_type == "application/json"
        or "/api/" in request.path
        or ("application/json" in accept and "text/html" not in accept)
    )


def rate_limited_response(request: HttpRequest, error: RateLimited) -> HttpResponse:
    """429 with Retry-After: the shared JSON error body for JSON clients, a plain page for people."""
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse(error_body(code=error.code, message=error.message), status=429)
    else:
        response = HttpResponse(render_to_string("429.html", {"message": error.message}, request), status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


class RateLimitMiddleware:
    """Answers a RateLimited raised by a page or a plain JSON view (DRF views answer through their handler)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RateLimited):
            return rate_limited_response(request, exception)
        return None


def _lockout_value(request: HttpRequest, username: str) -> str:
    return _digest(f"{username.strip().lower()}|{client_ip(request)}")


def login_lockout_check(request: HttpRequest, username: str) -> None:
    """RateLimited when `username` failed to sign in from this IP too often in the lockout window."""
    rate = getattr(settings, "RISKGOV_LOGIN_LOCKOUT", None)
    if not rate or not username:
        return
    usage = _usage(request, group=LOCKOUT_GROUP, value=_lockout_value(request, username), rate=rate, increment=False)
    if usage is not None and usage["count"] >= usage["limit"]:
        raise RateLimited(
            f"Sign-in for {username!r} is locked after {usage['limit']} failed attempts from this address",
            retry_after=int(usage["time_left"]),
        )


@receiver(user_login_failed, dispatch_uid="riskgov.core.ratelimit.count_login_failure")
def _count_login_failure(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any
) -> None:
    rate = getattr(settings, "RISKGOV_LOGIN_LOCKOUT", None)
    username = str(credentials.get("username") or "")
    if request is None or not rate or not username:
        return
    _usage(request, group=LOCKOUT_GROUP, value=_lockout_value(request, username), rate=rate, increment=True)


class LockoutModelBackend(ModelBackend):
    """Django's model backend behind the sign-in limits: per IP (scope ``login``) and the lockout."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if request is not None:
            login_lockout_check(request, str(username or ""))
            rate_limit_check(request, "login")
        return super().authenticate(request, username=username, password=password, **kwargs)


def user_subject(request: HttpRequest) -> str | None:
    """The signed-in user's name as a rate-limit subject (None for an anonymous visitor)."""
    user = getattr(request, "user", None)
    return user.get_username() if user is not None and user.is_authenticated else None


# Request bodies ------------------------------------------------------------------------------------------------

MULTIPART_SLACK_BYTES = 64 * 1024  # the form's other fields and the multipart framing around the file


def body_limit(setting: str) -> Callable[[View], View]:
    """Mark a view whose request body may be at most ``settings.<setting>`` bytes (checked by Content-Length)."""

    def decorator(view: View) -> View:
        view.max_body_setting = setting  # type: ignore[attr-defined]
        return view

    return decorator


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"


class BodySizeLimitMiddleware:
    """Refuses a body larger than its view's `body_limit` with 413 before anything reads it.

    Listed before the CSRF middleware, which would otherwise read (and spool) the whole upload first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        setting = getattr(view, "max_body_setting", None)
        if setting is None:
            return None
        limit = int(getattr(settings, setting))
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= limit + MULTIPART_SLACK_BYTES:
            return None
        message = f"The upload is {_megabytes(length)}; the limit is {_megabytes(limit)}."
        response: HttpResponse
        if _wants_json(request):
            response = JsonResponse(error_body(code="too_large", message=message, field="file"), status=413)
        else:
            response = HttpResponse(render_to_string("413.html", {"message": message}, request), status=413)
        response["Connection"] = "close"  # the unread body is not kept on the connection
        return response
