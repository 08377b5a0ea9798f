"""Admin for riskgov. Immutable rows (parameter versions, snapshots, audit) are read-only; a parameter
change goes through `margin_parameters_change`, like every other source of change."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from riskgov.core.admin_base import (
    AppendOnlyPermissions,
    DeletableReadOnlyPermissions,
    ReadOnlyAdmin,
    ReadOnlyPermissions,
)
from riskgov.core.models import Permission
from riskgov.core.models.versions import ChangeSource
from riskgov.core.permissions import has_permission
from riskgov.markets.forms import MarginParametersChangeForm
from riskgov.markets.models import (
    PARAMETER_FIELDS,
    Account,
    ExposureSnapshot,
    MarginParameters,
    Market,
    ParameterRule,
    Position,
    PriceObservation,
)
from riskgov.markets.models.liquidations import Liquidation
from riskgov.markets.models.risk_budget import ParameterChangeRequest, RiskBudget
from riskgov.markets.selectors.markets import parameter_history
from riskgov.markets.selectors.steward_limits import StewardLimit, steward_limits
from riskgov.markets.services.guardrails import GuardrailError
from riskgov.markets.services.parameters import margin_parameters_change
from riskgov.markets.services.risk_budget import parameter_change_request, risk_budget_applies, risk_budget_save
from riskgov.markets.services.rules import parameter_rule_delete, parameter_rule_save

VERSION_COLUMNS = ("version", *PARAMETER_FIELDS, "effective_at", "source", "actor", "reason", "proposal_ref")
CHANGE_PARAMETERS_TEMPLATE = "admin/riskgov/marginparameters/change_parameters.html"


def _field_rows(form: MarginParametersChangeForm, limits: dict[str, StewardLimit]) -> list[tuple[Any, Any]]:
    """Each form field with the steward limit shown beside it (none for the reason)."""
    return [(form[name], limits.get(name)) for name in form.fields]


def _history_value(version: MarginParameters, name: str) -> Any:
    """A history cell as compact as it reads: decimals without trailing zeros, times to the minute."""
    value = getattr(version, name)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if name == "source":
        return version.get_source_display()
    return value


def _change_parameters_url(market: Market) -> str:
    return f"{reverse('admin:markets_marginparameters_add')}?market={market.pk}"


class MarginParametersInline(ReadOnlyPermissions, admin.TabularInline):
    model = MarginParameters
    fields = VERSION_COLUMNS
    readonly_fields = VERSION_COLUMNS
    ordering = ("-version",)
    extra = 0
    show_change_link = True
    verbose_name_plural = "parameter version history (read-only; use “Change parameters” to add a version)"


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    list_display = (
        "symbol",
        "name",
        "quote_asset",
        "depth",
        "reference_volatility",
        "steward_min_delay_hours",
        "loss_waterfall",
        "is_active",
        "change_parameters",
    )
    list_filter = ("is_active", "quote_asset", "loss_waterfall")
    search_fields = ("symbol", "name")
    readonly_fields = ("change_parameters", "created_at")
    inlines = (MarginParametersInline,)

    @admin.display(description="Parameters")
    def change_parameters(self, market: Market) -> str:
        if market.pk is None:
            return "—"
        return format_html('<a class="button" href="{}">Change parameters</a>', _change_parameters_url(market))


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("address", "label", "created_at")
    search_fields = ("=address", "label")
    readonly_fields = ("created_at",)
    show_full_result_count = False


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ("external_id", "account", "market", "size", "entry_price", "collateral", "status", "opened_at")
    list_filter = ("market", "status")
    search_fields = ("=external_id", "=account__address")
    search_help_text = "Exact external id or account address."
    raw_id_fields = ("account",)
    list_select_related = ("market", "account")
    readonly_fields = ("side", "bankruptcy_price", "updated_at")
    show_full_result_count = False  # a million rows: no second COUNT(*) per page


@admin.register(PriceObservation)
class PriceObservationAdmin(admin.ModelAdmin):
    list_display = ("market", "price", "observed_at", "source", "round_id")
    list_filter = ("market", "source")
    search_fields = ("=round_id",)
    list_select_related = ("market",)
    show_full_result_count = False


@admin.register(ExposureSnapshot)
class ExposureSnapshotAdmin(ReadOnlyAdmin):
    list_display = (
        "taken_at",
        "scope",
        "mark_price",
        "position_count",
        "oi_long",
        "oi_short",
        "collateral",
        "leverage_p50",
        "leverage_p99",
        "liquidatable_count",
    )
    list_filter = ("scope",)
    date_hierarchy = "taken_at"
    list_select_related = ("market",)
    show_full_result_count = False


@admin.register(ParameterRule)
class ParameterRuleAdmin(admin.ModelAdmin):
    """Guardrail bounds; every save and delete goes through the rules service, which audits it."""

    list_display = ("field", "market", "min_value", "max_value", "max_abs_change", "max_rel_change")
    list_filter = ("field", "market")
    list_select_related = ("market",)

    def save_model(self, request: HttpRequest, obj: ParameterRule, form: ModelForm, change: bool) -> None:
        parameter_rule_save(rule=obj, actor=request.user.get_username())

    def delete_model(self, request: HttpRequest, obj: ParameterRule) -> None:
        parameter_rule_delete(rule=obj, actor=request.user.get_username())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ParameterRule]) -> None:
        for rule in queryset.select_related("market"):
            parameter_rule_delete(rule=rule, actor=request.user.get_username())


@admin.register(MarginParameters)
class MarginParametersAdmin(AppendOnlyPermissions, admin.ModelAdmin):
    """Versions are immutable. "Add" is the "Change margin parameters" page: it starts from the version in
    force, requires a reason, and saves through `margin_parameters_change` (the guardrails)."""

    list_display = (
        "market",
        "version",
        "imr",
        "mmr",
        "max_leverage",
        "liquidation_penalty",
        "insurance_fee_share",
        "oi_cap",
        "source",
        "effective_at",
        "actor",
    )
    list_filter = ("market", "source")
    search_fields = ("market__symbol", "actor", "reason", "proposal_ref")
    list_select_related = ("market",)
    readonly_fields = ("market", *VERSION_COLUMNS, "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Adding a version is a steward parameter change: the named permission, inside the guardrails."""
        return has_permission(request.user, Permission.CHANGE_PARAMETERS)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        market_id = request.POST.get("market") or request.GET.get("market")
        if not market_id or not str(market_id).isdigit():
            return self._parameters_page(request, markets=Market.objects.order_by("symbol"))
        market = get_object_or_404(Market, pk=int(market_id))
        history = list(parameter_history(market))
        current = history[0] if history else None
        form = MarginParametersChangeForm(request.POST or None, current=current)
        attested = risk_budget_applies(market=market, source=ChangeSource.ADMIN)
        if request.method == "POST" and form.is_valid() and attested:
            try:  # the workers run the paired simulation; the page never waits for it
                change = parameter_change_request(
                    market=market,
                    changes=form.changes(),
                    source=ChangeSource.ADMIN,
                    reason=form.cleaned_data["reason"],
                    actor=request.user.get_username(),
                )
            except GuardrailError as error:
                form.add_guardrail_errors(error)
            else:
                self.message_user(
                    request,
                    f"{market.symbol}: change request #{change.pk} is awaiting its risk-budget attestation; the "
                    "workers apply it if its paired run stays inside the budget, or refuse it with the reason.",
                    messages.INFO,
                )
                return HttpResponseRedirect(reverse("admin:markets_parameterchangerequest_change", args=[change.pk]))
        elif request.method == "POST" and form.is_valid():
            try:
                version = margin_parameters_change(
                    market=market,
                    changes=form.changes(),
                    source=ChangeSource.ADMIN,
                    reason=form.cleaned_data["reason"],
                    actor=request.user.get_username(),
                )
            except GuardrailError as error:
                form.add_guardrail_errors(error)
            else:
                self.message_user(request, f"{market.symbol}: version {version.version} is in force.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:markets_market_change", args=[market.pk]))
        return self._parameters_page(
            request,
            status=400 if form.errors else 200,
            title=f"Change margin parameters of {market}",
            market=market,
            current=current,
            form=form,
            field_rows=_field_rows(form, steward_limits(market, current)),
            risk_budget=getattr(market, "risk_budget", None) if attested else None,
            history_columns=[(name, name.replace("_", " ")) for name in VERSION_COLUMNS],
            history=[[(name, _history_value(version, name)) for name in VERSION_COLUMNS] for version in history],
        )

    def _parameters_page(self, request: HttpRequest, *, status: int = 200, **context: Any) -> TemplateResponse:
        page = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Change margin parameters"}
        return TemplateResponse(request, CHANGE_PARAMETERS_TEMPLATE, {**page, **context}, status=status)


@admin.register(RiskBudget)
class RiskBudgetAdmin(admin.ModelAdmin):
    """A market's risk budget; every save goes through the service, which validates and audits it."""

    list_display = ("market", "enabled", "max_exhaustion_increase", "max_es99_increase", "confidence", "paths")
    list_filter = ("enabled",)
    list_select_related = ("market",)
    readonly_fields = ("updated_at", "updated_by")

    def save_model(self, request: HttpRequest, obj: RiskBudget, form: ModelForm, change: bool) -> None:
        risk_budget_save(budget=obj, actor=request.user.get_username())


ATTESTATION_FIELDS = (
    ("status", "Verdict"),
    ("reason", "Reason"),
    ("runs", "Paired runs (current, proposed)"),
    ("inputs_sha256", "Inputs sha256"),
    ("paths", "Paths"),
    ("confidence", "Confidence"),
    ("budget", "Budget"),
    ("result", "Result (proposed − current)"),
    ("at", "Attested at"),
)


@admin.register(ParameterChangeRequest)
class ParameterChangeRequestAdmin(ReadOnlyAdmin):
    """Changes of markets with a risk budget: awaiting their attestation, applied or refused by a worker."""

    list_display = ("pk", "market", "source", "status", "progress_percent", "actor", "created_at", "version")
    list_filter = ("status", "source", "market")
    list_select_related = ("market", "version")
    search_fields = ("market__symbol", "actor", "proposal_ref")
    fields = (
        "market",
        "source",
        "status",
        "progress_percent",
        "changes",
        "reason",
        "actor",
        "proposal_ref",
        "base_version",
        "version",
        "refusal",
        "attestation_summary",
        "created_at",
        "attested_at",
        "decided_at",
    )
    readonly_fields = fields

    @admin.display(description="Progress")
    def progress_percent(self, change: ParameterChangeRequest) -> str:
        return f"{change.progress:.0%}"

    @admin.display(description="Attestation")
    def attestation_summary(self, change: ParameterChangeRequest) -> str:
        record = change.attestation or {}
        if not record:
            return "—" if not change.is_open else "running on the workers"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td></tr>",
            ((label, _attestation_value(record.get(key))) for key, label in ATTESTATION_FIELDS),
        )
        return format_html('<table class="attestation">{}</table>', rows)


def _attestation_value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {'—' if v is None else v}" for k, v in value.items())
    return "—" if value is None else str(value)


@admin.register(Liquidation)
class LiquidationAdmin(DeletableReadOnlyPermissions, admin.ModelAdmin):
    """Realised liquidations come from the indexer or an import; a wrongly imported row may be deleted."""

    list_display = ("liquidated_at", "market", "source", "external_id", "size", "price", "notional", "penalty",
                    "bad_debt")  # fmt: skip
    list_filter = ("source", "market")
    search_fields = ("=external_id", "=tx_hash", "=account__address")
    search_help_text = "Exact external id, transaction hash or account address."
    date_hierarchy = "liquidated_at"
    list_select_related = ("market",)
    raw_id_fields = ("account", "position")
    show_full_result_count = False
