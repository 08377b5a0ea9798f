"""The API error handler: whatever refuses a request, the answer is {"error": {"code", "message", "field"}}."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from riskgov.core.errors import DomainError


class Conflict(DomainError):
    status = 409
    default_code = "conflict"


class Change(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.DecimalField(max_digits=10, decimal_places=4)


class Proposal(serializers.Serializer):
    title = serializers.CharField(required=False)
    changes = Change(many=True, required=False)
    overrides = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()), required=False)

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if attrs.get("title") == "both":
            raise serializers.ValidationError("Give a title or changes, not both.", code="exclusive")
        return attrs


def answer(raise_: Callable[[Request], object]) -> Response:
    @api_view(["POST"])
    @authentication_classes([])
    @permission_classes([AllowAny])
    def view(request: Request) -> Response:
        raise_(request)
        return Response({})

    return view(APIRequestFactory().post("/", {}, format="json"))


def invalid(data: dict[str, object]) -> Callable[[Request], object]:
    return lambda request: Proposal(data=data).is_valid(raise_exception=True)


def raising(error: Exception) -> Callable[[Request], object]:
    def raise_(request: Request) -> None:
        raise error

    return raise_


@pytest.mark.parametrize(
    ("raise_", "status", "code", "field", "message"),
    [
        (invalid({"title": ""}), 400, "blank", "title", "This field may not be blank."),
        (invalid({"changes": [{"field": "mmr", "value": "0.05"}, {"field": "imr", "value": "x"}]}), 400, "invalid",
         "changes.1.value", "A valid number is required."),
        (invalid({"overrides": {"ETH": {"mmr": "x"}}}), 400, "invalid", "overrides.ETH.mmr",
         "A valid integer is required."),
        (invalid({"title": "both"}), 400, "exclusive", None, "Give a title or changes, not both."),
        (raising(DomainError("The fund is empty.", field="fund")), 400, "invalid", "fund", "The fund is empty."),
        (raising(Conflict("Run #3 is finished.")), 409, "conflict", None, "Run #3 is finished."),
        (raising(DomainError("Only the guardian.", code="not_guardian", status=403)), 403, "not_guardian", None,
         "Only the guardian."),
        (raising(DjangoValidationError({"paths": "Too many paths."})), 400, "invalid", "paths", "Too many paths."),
        (raising(DjangoValidationError({"__all__": "Not both."}, code="exclusive")), 400, "invalid", None,
         "Not both."),
        (raising(DjangoValidationError("Out of range: %(n)s", code="range", params={"n": 7})), 400, "range", None,
         "Out of range: 7"),
        (raising(exceptions.ParseError("Bad JSON.")), 400, "parse_error", None, "Bad JSON."),
        (raising(exceptions.NotAuthenticated()), 403, "not_authenticated", None,
         "Authentication credentials were not provided."),
        (raising(PermissionDenied()), 403, "permission_denied", None,
         "You do not have permission to perform this action."),
        (raising(Http404("No run 9.")), 404, "not_found", None, "Not found."),
    ],
)  # fmt: skip
def test_every_refusal_has_one_shape(
    raise_: Callable[[Request], object], status: int, code: str, field: str | None, message: str
) -> None:
    response = answer(raise_)
    assert response.status_code == status
    assert response.data == {"error": {"code": code, "message": message, "field": field}}


def test_a_bug_is_not_dressed_up_as_a_refusal() -> None:
    with pytest.raises(ZeroDivisionError):
        answer(lambda request: 1 / 0)
