"""Exposure snapshots (the history, filtered by scope and time), the latest set, the liquidation map and the
shock table — the figures of the dashboard and market pages."""

from __future__ import annotations

import django_filters
from django.db.models import FloatField, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from riskgov.core.api.filters import InstantFilter
from riskgov.markets.api.fields import FiniteFloatField
from riskgov.markets.models import ExposureSnapshot
from riskgov.markets.selectors.exposure import latest_snapshots, snapshot_health
from riskgov.markets.selectors.exposure_tables import liquidation_map_table, shock_table

SUMMARY_FIELDS = [
    "id",
    "taken_at",
    "scope",
    "market",
    "mark_price",
    "position_count",
    "account_count",
    "oi_long",
    "oi_short",
    "oi_long_size",
    "oi_short_size",
    "collateral",
    "leverage_p50",
    "leverage_p90",
    "leverage_p99",
    "top10_share",
    "hhi",
    "liquidatable_count",
    "liquidatable_notional",
    "near_liquidation",
]


class SnapshotOutput(serializers.ModelSerializer):
    """One scope of a snapshot set: notional in quote units at the snapshot's marks, shares as fractions."""

    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping, FloatField: FiniteFloatField}
    market = serializers.CharField(source="market.symbol", allow_null=True, default=None)

    class Meta:
        model = ExposureSnapshot
        fields = SUMMARY_FIELDS


class SnapshotDetailOutput(SnapshotOutput):
    class Meta(SnapshotOutput.Meta):
        fields = [*SUMMARY_FIELDS, "leverage_histogram", "top_accounts", "shock_bad_debt", "liquidation_map"]


class SnapshotFilter(django_filters.FilterSet):
    scope = django_filters.CharFilter(help_text='A market symbol, or "ALL" for the protocol rows.')
    taken_after = InstantFilter(field_name="taken_at", lookup_expr="gte", help_text="ISO 8601, inclusive.")
    taken_before = InstantFilter(field_name="taken_at", lookup_expr="lt", help_text="ISO 8601, exclusive.")

    class Meta:
        model = ExposureSnapshot
        fields = ["scope", "taken_after", "taken_before"]


class SnapshotList(generics.ListAPIView):
    """Snapshot rows newest first: the exposure history of a scope with `?scope=`."""

    permission_classes = [AllowAny]
    serializer_class = SnapshotOutput
    filterset_class = SnapshotFilter

    def get_queryset(self) -> QuerySet[ExposureSnapshot]:
        return ExposureSnapshot.objects.select_related("market").order_by("-taken_at", "scope")


class SnapshotDetail(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = SnapshotDetailOutput
    queryset = ExposureSnapshot.objects.select_related("market")
    lookup_url_kwarg = "snapshot_id"


class SnapshotHealthOutput(serializers.Serializer):
    last_success_at = serializers.DateTimeField(allow_null=True)
    failing_since = serializers.DateTimeField(allow_null=True, help_text="Null while snapshots succeed.")
    last_error = serializers.CharField(allow_blank=True)


class LatestSetOutput(serializers.Serializer):
    taken_at = serializers.DateTimeField(allow_null=True, help_text="Null before the first snapshot.")
    health = SnapshotHealthOutput()
    snapshots = SnapshotDetailOutput(many=True, help_text="The protocol row first, then one row per market.")


class LatestSnapshotSet(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=LatestSetOutput)
    def get(self, request: Request) -> Response:
        snapshots = latest_snapshots()
        body = {
            "taken_at": snapshots[0].taken_at if snapshots else None,
            "health": snapshot_health()._asdict(),
            "snapshots": snapshots,
        }
        return Response(LatestSetOutput(body).data)


class ScopeSeriesOutput(serializers.Serializer):
    scope = serializers.CharField()
    values = serializers.ListField(child=serializers.FloatField(), help_text="One amount per move, quote units.")


class MoveTableOutput(serializers.Serializer):
    taken_at = serializers.DateTimeField(allow_null=True, help_text="The snapshot set's time; null before the first.")
    moves_pct = serializers.ListField(child=serializers.FloatField(), help_text="Price moves, percent.")
    rows = ScopeSeriesOutput(many=True)


class LiquidationMap(APIView):
    """Notional liquidated by a uniform price move, per market, from the latest snapshot set."""

    permission_classes = [AllowAny]

    @extend_schema(responses=MoveTableOutput)
    def get(self, request: Request) -> Response:
        return Response(MoveTableOutput(liquidation_map_table(latest_snapshots())).data)


class ShockTable(APIView):
    """Instantaneous bad debt if every price moved at once by each shock, protocol row first, latest set."""

    permission_classes = [AllowAny]

    @extend_schema(responses=MoveTableOutput)
    def get(self, request: Request) -> Response:
        return Response(MoveTableOutput(shock_table(latest_snapshots())).data)
