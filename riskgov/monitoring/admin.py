"""Admin for margin policies, price feeds, recommendations, alert rules, alerts and deliveries.

Policies are immutable versions: "add" proposes the next version, checked by the same guardrails as
every steward change; recommendations are applied or dismissed through the recommender service.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from riskgov.core.admin_base import AppendOnlyPermissions, DeletableReadOnlyPermissions, ReadOnlyPermissions
from riskgov.core.models import Permission
from riskgov.core.models.versions import ChangeSource
from riskgov.core.permissions import has_permission
from riskgov.markets.models import Market, ParameterChangeRequest
from riskgov.markets.services.guardrails import GuardrailError
from riskgov.monitoring.models import (
    POLICY_FIELDS,
    Alert,
    AlertDelivery,
    AlertRule,
    CoverageBacktest,
    MarginPolicy,
    MarginRecommendation,
    PriceFeed,
    RecommendationStatus,
)
from riskgov.monitoring.services.margin_policy import margin_policy_change, margin_policy_check
from riskgov.monitoring.services.recommender import (
    RecommendationError,
    margin_recommendation_apply,
    margin_recommendation_dismiss,
)


@admin.register(PriceFeed)
class PriceFeedAdmin(admin.ModelAdmin):
    list_display = ("market", "name", "source", "heartbeat_seconds", "deviation_threshold", "enabled")
    list_filter = ("enabled", "market")
    list_editable = ("heartbeat_seconds", "deviation_threshold", "enabled")


class MarginPolicyForm(forms.ModelForm):
    class Meta:
        model = MarginPolicy
        fields = ("market", *POLICY_FIELDS, "reason")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        market = cleaned.get("market")
        if market is not None and not self.errors:
            current = MarginPolicy.objects.filter(market=market).order_by("-version").first()
            try:
                margin_policy_check(
                    market=market,
                    current=current,
                    source=ChangeSource.ADMIN,
                    now=timezone.now(),
                    changes={f: cleaned.get(f) for f in POLICY_FIELDS},
                )
            except GuardrailError as error:
                for violation in error.violations:
                    self.add_error(violation.field if violation.field in self.fields else None, violation.message)
        return cleaned


@admin.register(MarginPolicy)
class MarginPolicyAdmin(AppendOnlyPermissions, admin.ModelAdmin):
    form = MarginPolicyForm
    list_display = (
        "market",
        "version",
        "kind",
        "coefficient_a",
        "ewma_lambda",
        "confidence",
        "horizon_hours",
        "imr_floor",
        "imr_cap",
        "mmr_ratio",
        "automatic",
        "source",
        "effective_at",
    )
    list_filter = ("kind", "automatic", "source", "market")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return has_permission(request.user, Permission.MANAGE_MARGIN_POLICY)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        market = Market.objects.filter(pk=request.GET.get("market") or 0).first()
        current = MarginPolicy.objects.current_for(market) if market else None
        if current is not None:
            initial.update(current.values())
        return initial

    def save_model(self, request: HttpRequest, obj: MarginPolicy, form: Any, change: bool) -> None:
        data = form.cleaned_data
        version = margin_policy_change(
            market=data["market"],
            changes={f: data[f] for f in POLICY_FIELDS},
            source=ChangeSource.ADMIN,
            reason=data["reason"],
            actor=request.user.get_username(),
        )
        obj.pk = version.pk
        obj.version = version.version


@admin.register(MarginRecommendation)
class MarginRecommendationAdmin(DeletableReadOnlyPermissions, admin.ModelAdmin):
    list_display = ("market", "computed_at", "status", "values", "applied_version", "decided_by")
    list_filter = ("status", "market")
    readonly_fields = [f.name for f in MarginRecommendation._meta.fields]
    actions = ["apply_selected", "dismiss_selected"]

    def has_decide_recommendation_permission(self, request: HttpRequest) -> bool:
        return has_permission(request.user, Permission.DECIDE_RECOMMENDATION)

    @admin.action(description="Apply (steward change, inside the bounds)", permissions=["decide_recommendation"])
    def apply_selected(self, request: HttpRequest, queryset: QuerySet[MarginRecommendation]) -> None:
        for recommendation in queryset.filter(status=RecommendationStatus.PENDING):
            try:
                version = margin_recommendation_apply(
                    recommendation_id=recommendation.pk, actor=request.user.get_username()
                )
            except (GuardrailError, RecommendationError) as error:
                self.message_user(request, f"#{recommendation.pk} not applied: {error}", messages.ERROR)
            else:
                outcome = (
                    f"waits for its risk-budget attestation ({version})"
                    if isinstance(version, ParameterChangeRequest)
                    else f"applied as {version}"
                )
                self.message_user(request, f"#{recommendation.pk} {outcome}.", messages.SUCCESS)

    @admin.action(description="Dismiss", permissions=["decide_recommendation"])
    def dismiss_selected(self, request: HttpRequest, queryset: QuerySet[MarginRecommendation]) -> None:
        for recommendation in queryset.filter(status=RecommendationStatus.PENDING):
            margin_recommendation_dismiss(recommendation_id=recommendation.pk, actor=request.user.get_username())


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "severity_shown", "severity", "threshold", "market", "enabled")
    list_filter = ("kind", "severity", "enabled")
    list_editable = ("severity", "threshold", "enabled")

    @admin.display(description="In effect")
    def severity_shown(self, rule: AlertRule) -> str:
        return str(rule.effective_severity.label) + ("" if rule.severity is not None else " (kind default)")


class DeliveryInline(ReadOnlyPermissions, admin.TabularInline):
    model = AlertDelivery
    extra = 0
    readonly_fields = ("event", "channel", "target", "status", "attempts", "response_code", "last_error", "sent_at")
    fields = readonly_fields


@admin.register(Alert)
class AlertAdmin(DeletableReadOnlyPermissions, admin.ModelAdmin):
    list_display = ("summary", "severity", "rule", "market", "state", "opened_at", "acknowledged_by", "snoozed_until")
    list_filter = ("state", "severity", "rule__kind")
    readonly_fields = [f.name for f in Alert._meta.fields]
    inlines = [DeliveryInline]


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(DeletableReadOnlyPermissions, admin.ModelAdmin):
    list_display = ("alert", "event", "channel", "target", "status", "attempts", "response_code", "sent_at")
    list_filter = ("status", "channel", "event")
    readonly_fields = [f.name for f in AlertDelivery._meta.fields]


@admin.register(CoverageBacktest)
class CoverageBacktestAdmin(DeletableReadOnlyPermissions, admin.ModelAdmin):
    """Backtests of the coverage model, written by their task; shown on the Liquidations page."""

    list_display = ("pk", "start", "end", "status", "requested_by", "created_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in CoverageBacktest._meta.fields]
