"""Alerts: list with filters, one alert, and acknowledge / snooze / resolve through the alert action services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from riskgov.core.api.schema import error_response
from riskgov.core.models import Permission
from riskgov.core.permissions import api_permission
from riskgov.monitoring.models import Alert, AlertKind, AlertSeverity, AlertState
from riskgov.monitoring.models.monitoring import REASON_MAX_LENGTH
from riskgov.monitoring.services.alert_actions import alert_acknowledge, alert_resolve, alert_snooze

SEVERITIES = {severity.name.lower(): severity.value for severity in AlertSeverity}


class AlertRuleOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    threshold = serializers.DecimalField(max_digits=38, decimal_places=8)


class AlertOutput(serializers.ModelSerializer):
    rule = AlertRuleOutput()
    market = serializers.CharField(source="market.symbol", allow_null=True, default=None)
    severity = serializers.ChoiceField(choices=list(SEVERITIES), source="severity_name")

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "market",
            "severity",
            "state",
            "summary",
            "opened_at",
            "last_seen_at",
            "resolved_at",
            "resolved_by",
            "resolve_reason",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledge_reason",
            "snoozed_until",
            "snoozed_by",
            "snooze_reason",
            "evidence",
            "latest_evidence",
        ]


class AlertFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=AlertState.choices)
    severity = django_filters.ChoiceFilter(choices=[(name, name) for name in SEVERITIES], method="filter_severity")
    kind = django_filters.ChoiceFilter(field_name="rule__kind", choices=AlertKind.choices)
    market = django_filters.CharFilter(field_name="market__symbol", lookup_expr="iexact", help_text="Market symbol.")

    class Meta:
        model = Alert
        fields = ["state", "severity", "kind", "market"]

    def filter_severity(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        return queryset.filter(severity=SEVERITIES[value])


def _alerts() -> QuerySet[Alert]:
    return Alert.objects.select_related("rule", "market").order_by("-opened_at", "-pk")


class AlertList(generics.ListAPIView):
    """Alerts newest first; open ones with `?state=open`."""

    permission_classes = [AllowAny]
    serializer_class = AlertOutput
    filterset_class = AlertFilter

    def get_queryset(self) -> QuerySet[Alert]:
        return _alerts()


class AlertDetail(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = AlertOutput
    lookup_url_kwarg = "alert_id"

    def get_queryset(self) -> QuerySet[Alert]:
        return _alerts()


class AlertReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, help_text="Why; kept in the audit log.")


class AlertSnoozeInput(AlertReasonInput):
    until = serializers.DateTimeField(help_text="When the snooze ends: in the future, at most 30 days ahead.")


class _AlertAction(APIView):
    """POST on one open alert; a resolved alert answers 409 `alert_not_open`."""

    permission_classes = [api_permission(Permission.ACKNOWLEDGE_ALERT)]

    def act(
        self, request: Request, alert_id: int, service: Callable[..., Alert], input_class: type[serializers.Serializer]
    ) -> Response:
        alert = get_object_or_404(Alert, pk=alert_id)
        data = input_class(data=request.data)
        data.is_valid(raise_exception=True)
        service(alert_id=alert.pk, actor=request.user.get_username(), **data.validated_data)
        return Response(AlertOutput(_alerts().get(pk=alert.pk)).data)


def _action_schema(input_class: type[serializers.Serializer], summary: str) -> Any:
    return extend_schema(request=input_class, responses={200: AlertOutput, 409: error_response(409)}, summary=summary)


class AlertAcknowledge(_AlertAction):
    @_action_schema(AlertReasonInput, "Say someone is on it; the alert stays open and in the banner.")
    def post(self, request: Request, alert_id: int) -> Response:
        return self.act(request, alert_id, alert_acknowledge, AlertReasonInput)


class AlertSnooze(_AlertAction):
    @_action_schema(AlertSnoozeInput, "Hide the alert from the banner and hold its deliveries until a time.")
    def post(self, request: Request, alert_id: int) -> Response:
        return self.act(request, alert_id, alert_snooze, AlertSnoozeInput)


class AlertResolve(_AlertAction):
    @_action_schema(AlertReasonInput, "Resolve by hand; the next sweep reopens it if the condition holds.")
    def post(self, request: Request, alert_id: int) -> Response:
        return self.act(request, alert_id, alert_resolve, AlertReasonInput)
