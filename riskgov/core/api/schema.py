"""The API schema: the one error shape as a component, the statuses each operation may answer, and pages.

``RiskGovAutoSchema`` (``DEFAULT_SCHEMA_CLASS``) adds to every operation the error answers it can give, each
with the ``Error`` body, so a client (and the schema check in the suite) knows them: 400 where there is input
(a body or parameters), 401 and 403 where authentication or a permission can refuse, 404 where the path names
something, 415 where there is a body, 429 on writes (rate limits). A view declares the others it may answer
(409…) itself with ``error_response(...)`` in ``extend_schema(responses=...)``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

ERROR_DESCRIPTIONS = {
    "400": "Bad input: `field` names the input at fault (a parameter, a body field) and `message` says why.",
    "401": "Not authenticated, or the token is not valid.",
    "403": "The user lacks the permission this needs (or the session's CSRF token is missing).",
    "404": "Nothing with this identifier.",
    "409": "The object is in a state that refuses this action.",
    "415": "The request body is not JSON (or another accepted media type).",
    "429": "Too many requests: retry after the `Retry-After` header's seconds.",
    "503": "Not available now (the chain node does not answer, or the file is being rendered): retry later.",
}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Machine-readable: invalid, required, not_found, not_authenticated, authentication_failed, "
        "permission_denied, parse_error, unsupported_media_type, method_not_allowed, rate_limited, or a domain "
        "code such as alert_not_open."
    )
    message = serializers.CharField(help_text="A sentence for people, shown as it is.")
    field = serializers.CharField(
        allow_null=True, help_text="The input at fault (a dotted path for nested input); null for the whole request."
    )


class ErrorSerializer(serializers.Serializer):
    """Every refused request of every API answers this shape."""

    error = ErrorDetailSerializer()

    class Meta:
        ref_name = "Error"


def error_response(status: int | str) -> OpenApiResponse:
    """The documented answer for an error status, for ``extend_schema(responses={409: error_response(409)})``."""
    return OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS.get(str(status), "Refused."))


@cache
def paginated(serializer_class: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The ``{"count", "next", "previous", "results"}`` page of ``serializer_class`` rows, for views that
    paginate by hand (a function view, or a list that is not a queryset)."""
    name = serializer_class.__name__.removesuffix("Serializer").removesuffix("Output")
    return type(
        f"Paginated{name}List",
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
            "Meta": type("Meta", (), {"ref_name": f"Paginated{name}List"}),
        },
    )


class RiskGovAutoSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for status in self._error_statuses(operation):
            if status not in responses:
                responses[status] = self._get_response_for_code(error_response(status), status)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_statuses(self, operation: dict[str, Any]) -> list[str]:
        statuses = []
        has_body = "requestBody" in operation
        if has_body or operation.get("parameters"):  # a parameter that cannot be read (a NUL byte…) is a 400
            statuses.append("400")
        authenticators = self.view.get_authenticators()
        if authenticators:
            statuses.append("401")  # any request may carry a token that is not valid
        unsafe = self.method not in ("GET", "HEAD", "OPTIONS")
        csrf = unsafe and any(isinstance(a, SessionAuthentication) for a in authenticators)
        if csrf or not self._anonymous_allowed():
            statuses += ["401", "403"]
        if any(p.get("in") == "path" for p in operation.get("parameters", [])):
            statuses.append("404")
        if has_body:
            statuses.append("415")
        if unsafe:
            statuses.append("429")  # writes are rate-limited (riskgov.core.ratelimit)
        return sorted(set(statuses))

    def _anonymous_allowed(self) -> bool:
        """Whether the view's permission classes let an anonymous request of this method through."""
        http_request = HttpRequest()
        http_request.method = self.method
        request = Request(http_request)
        request.user = AnonymousUser()
        return all(permission.has_permission(request, self.view) for permission in self.view.get_permissions())
