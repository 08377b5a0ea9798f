"""JSON API for coverage runs: list, create, read, cancel.

A refusal (bad input, a service's ValidationError or CoverageRunError) is answered by the API error handler
as {"error": {"code", "message", "field"}}: 400 for input, 409 for cancelling a finished run.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from insurance.models import MAX_PATHS, MAX_STEPS, CoverageRun, ImpactKind, InsuranceFund, PriceModelKind, RunPurpose
from insurance.selectors.coverage import run_list, run_progress
from insurance.services.coverage_runs import (
    coverage_run_cancel,
    coverage_run_create,
    coverage_run_create_idempotent,
)
from riskgov.core.api.pagination import PagePagination
from riskgov.core.api.schema import error_response, paginated
from riskgov.core.models import Permission
from riskgov.core.permissions import api_permission
from riskgov.core.ratelimit import rate_limited, user_subject


class CoverageRunInputSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=200, default="Coverage run")  # type: ignore[assignment]
    fund = serializers.PrimaryKeyRelatedField(queryset=InsuranceFund.objects.all(), required=False, allow_null=True)
    fund_balance = serializers.DecimalField(
        max_digits=38, decimal_places=18, min_value=Decimal("0"), required=False, allow_null=True
    )
    model = serializers.ChoiceField(choices=PriceModelKind.choices, default=PriceModelKind.GBM)
    model_params = serializers.DictField(required=False, default=dict)
    paths = serializers.IntegerField(min_value=1, max_value=MAX_PATHS, default=10_000)
    steps = serializers.IntegerField(min_value=1, max_value=MAX_STEPS, default=96)
    horizon_days = serializers.DecimalField(
        max_digits=8, decimal_places=3, min_value=Decimal("0.001"), max_value=Decimal("365"), default=Decimal("4")
    )
    impact = serializers.ChoiceField(choices=ImpactKind.choices, default=ImpactKind.SQRT)
    impact_coefficient = serializers.DecimalField(
        max_digits=12, decimal_places=6, min_value=Decimal("0"), default=Decimal("0.01")
    )
    cascade = serializers.BooleanField(default=True)
    liquidation_delay_steps = serializers.IntegerField(min_value=0, default=0)
    seed = serializers.IntegerField(min_value=0, max_value=2**63 - 1, required=False, allow_null=True)
    volatility_window_days = serializers.IntegerField(min_value=1, max_value=3650, default=30)
    target_exhaustion_probability = serializers.DecimalField(
        max_digits=12,
        decimal_places=8,
        min_value=Decimal("0.00000001"),
        max_value=Decimal("0.99999999"),
        default=Decimal("0.01"),
    )
    baseline = serializers.BooleanField(
        default=False, help_text="Start the run as the new baseline (refused for a run with overrides)."
    )
    parameter_versions = serializers.DictField(
        child=serializers.IntegerField(min_value=1), required=False, allow_null=True
    )
    parameter_overrides = serializers.DictField(
        child=serializers.DictField(child=serializers.DecimalField(max_digits=38, decimal_places=18)),
        required=False,
        allow_null=True,
    )


class CoverageRunOutputSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = CoverageRun
        fields = [
            "id",
            "label",
            "purpose",
            "status",
            "requested_by",
            "fund",
            "fund_balance",
            "model",
            "model_params",
            "paths",
            "steps",
            "horizon_days",
            "impact",
            "impact_coefficient",
            "cascade",
            "liquidation_delay_steps",
            "seed",
            "chunk_size",
            "chunk_count",
            "chunks_done",
            "progress",
            "target_exhaustion_probability",
            "volatility_window_days",
            "parameter_set",
            "parameter_versions",
            "parameter_overrides",
            "position_count",
            "engine_version",
            "inputs_sha256",
            "book_sha256",
            "created_at",
            "started_at",
            "finished_at",
            "error",
        ]

    def get_progress(self, run: CoverageRun) -> dict[str, Any]:
        progress = run_progress(run)
        return {
            "percent": progress.percent,
            "eta_seconds": progress.eta_seconds,
            "elapsed_seconds": progress.elapsed_seconds,
        }


class CoverageRunDetailSerializer(CoverageRunOutputSerializer):
    class Meta(CoverageRunOutputSerializer.Meta):
        fields = [*CoverageRunOutputSerializer.Meta.fields, "market_inputs", "metrics"]


def _actor(request: Request) -> str:
    return request.user.get_username() if request.user.is_authenticated else "anonymous"


@extend_schema(methods=["GET"], operation_id="runs_list", responses={200: paginated(CoverageRunOutputSerializer)})
@extend_schema(
    methods=["POST"],
    request=CoverageRunInputSerializer,
    responses={202: CoverageRunOutputSerializer, 200: CoverageRunOutputSerializer},
    parameters=[
        OpenApiParameter(
            "Idempotency-Key",
            str,
            OpenApiParameter.HEADER,
            description="Retry-safe creation: the same key and body answer 200 with the run the first request "
            "created (202); the same key with another body is a 422.",
        )
    ],
)
@api_view(["GET", "POST"])
@permission_classes([api_permission(Permission.MANAGE_COVERAGE_RUNS, safe_methods_open=True)])
@rate_limited("coverage_run_create", subject=user_subject)
def runs(request: Request) -> Response:
    if request.method == "GET":
        paginator = PagePagination()
        page = paginator.paginate_queryset(run_list(limit=1000), request)
        return paginator.get_paginated_response(CoverageRunOutputSerializer(page, many=True).data)
    serializer = CoverageRunInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    arguments = dict(serializer.validated_data)
    purpose = RunPurpose.BASELINE if arguments.pop("baseline") else None
    key = _idempotency_key(request)
    if key is None:
        run, created = coverage_run_create(**arguments, purpose=purpose, requested_by=_actor(request)), True
    else:
        run, created = coverage_run_create_idempotent(
            **arguments,
            purpose=purpose,
            requested_by=_actor(request),
            idempotency_key=key,
            request_sha256=_request_sha256(request),
        )
    # 202: the run is stored and runs on the workers (sent now, or by the sweeper once the broker answers again)
    return Response(
        CoverageRunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
    )


IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces


def _idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key header (None without one); a malformed key is a 400 naming the header."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise serializers.ValidationError(
            {IDEMPOTENCY_HEADER: "Use 1 to 255 printable ASCII characters without spaces (e.g. a UUID)."}
        )
    return key


def _request_sha256(request: Request) -> str:
    """sha256 of the request body as data (key order and whitespace do not matter)."""
    data = request.data.dict() if hasattr(request.data, "dict") else request.data
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


@extend_schema(responses=CoverageRunDetailSerializer)
@api_view(["GET"])
def run_detail(request: Request, run_id: int) -> Response:
    run = get_object_or_404(CoverageRun, pk=run_id)
    return Response(CoverageRunDetailSerializer(run).data)


@extend_schema(request=None, responses={200: CoverageRunOutputSerializer, 409: error_response(409)})
@api_view(["POST"])
@permission_classes([api_permission(Permission.MANAGE_COVERAGE_RUNS)])
def run_cancel(request: Request, run_id: int) -> Response:
    run = get_object_or_404(CoverageRun, pk=run_id)
    run = coverage_run_cancel(run=run, actor=_actor(request))
    return Response(CoverageRunOutputSerializer(run).data)
