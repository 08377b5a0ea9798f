"""Admin: funds with their ledger balance, ledger entries recorded through the service, runs read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from insurance.models import ACTIVE_STATUSES, CoverageChunk, CoverageRun, FundLedgerEntry, InsuranceFund, Scenario
from insurance.models.risk_attestation import RiskAttestation
from insurance.selectors.funds import fund_balance
from insurance.services.coverage_cleanup import CoverageRunDeleteError, coverage_runs_delete
from insurance.services.coverage_runs import CoverageRunError, coverage_run_cancel
from insurance.services.ledger import ledger_entry_record
from riskgov.core.admin_base import (
    AppendOnlyPermissions,
    DeletableReadOnlyPermissions,
    ReadOnlyAdmin,
    ReadOnlyPermissions,
)
from riskgov.core.models import Permission
from riskgov.core.permissions import has_permission


@admin.register(InsuranceFund)
class InsuranceFundAdmin(admin.ModelAdmin):
    list_display = ["name", "vault_address", "balance", "created_at"]
    readonly_fields = ["balance", "created_at"]

    @admin.display(description="Balance (from the ledger)")
    def balance(self, fund: InsuranceFund) -> Any:
        return fund_balance(fund=fund) if fund.pk else "—"


class LedgerEntryForm(forms.ModelForm):
    class Meta:
        model = FundLedgerEntry
        fields = ["fund", "kind", "amount", "external_ref", "occurred_at", "note"]
        help_texts = {"note": "Required: why the money moved, and where it can be checked."}


@admin.register(FundLedgerEntry)
class FundLedgerEntryAdmin(AppendOnlyPermissions, admin.ModelAdmin):
    form = LedgerEntryForm
    list_display = ["occurred_at", "fund", "kind", "amount", "effect", "external_ref", "recorded_by"]
    list_filter = ["fund", "kind"]
    search_fields = ["external_ref", "note"]
    date_hierarchy = "occurred_at"

    def get_readonly_fields(self, request: HttpRequest, obj: FundLedgerEntry | None = None) -> list[str]:
        # entries are facts: correct a mistake with an adjustment, never by editing
        if obj is not None:
            return [*LedgerEntryForm.Meta.fields, "effect", "recorded_by", "created_at"]
        return []

    def save_model(self, request: HttpRequest, obj: FundLedgerEntry, form: forms.ModelForm, change: bool) -> None:
        try:
            entry, _ = ledger_entry_record(
                fund=obj.fund,
                kind=obj.kind,
                amount=obj.amount,
                external_ref=obj.external_ref,
                note=obj.note,
                recorded_by=request.user.get_username(),
                occurred_at=obj.occurred_at,
            )
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))
            return
        obj.pk = entry.pk


class CoverageChunkInline(ReadOnlyPermissions, admin.TabularInline):
    model = CoverageChunk
    extra = 0
    fields = ("chunk_index", "path_start", "path_stop", "status", "attempts", "worker", "started_at", "finished_at")
    readonly_fields = fields


@admin.register(CoverageRun)
class CoverageRunAdmin(DeletableReadOnlyPermissions, admin.ModelAdmin):
    list_display = [
        "pk",
        "label",
        "purpose",
        "status",
        "model",
        "parameter_set",
        "paths",
        "chunks_done",
        "chunk_count",
        "created_at",
        "requested_by",
    ]
    list_filter = ["purpose", "status", "model", "parameter_set"]
    search_fields = ["label", "requested_by"]
    inlines = [CoverageChunkInline]
    actions = ["cancel_runs"]

    def get_readonly_fields(self, request: HttpRequest, obj: CoverageRun | None = None) -> list[str]:
        return [field.name for field in CoverageRun._meta.fields]

    def has_manage_coverage_runs_permission(self, request: HttpRequest) -> bool:
        return has_permission(request.user, Permission.MANAGE_COVERAGE_RUNS)

    def has_delete_permission(self, request: HttpRequest, obj: CoverageRun | None = None) -> bool:
        """A queued or running run is cancelled first: its workers would still write files."""
        if obj is not None and obj.status in ACTIVE_STATUSES:
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: CoverageRun) -> None:
        self.delete_queryset(request, CoverageRun.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CoverageRun]) -> None:
        """Runs go with their files in the run storage; an active run is refused (cancel it first)."""
        try:
            coverage_runs_delete(queryset)
        except CoverageRunDeleteError as error:
            messages.error(request, str(error))

    @admin.action(description="Cancel selected queued or running runs", permissions=["manage_coverage_runs"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[CoverageRun]) -> None:
        for run in queryset:
            try:
                coverage_run_cancel(run=run, actor=request.user.get_username())
            except CoverageRunError as error:
                messages.warning(request, str(error))


@admin.register(RiskAttestation)
class RiskAttestationAdmin(ReadOnlyAdmin):
    """Risk-budget attestations: written by the workers for a parameter change, never edited by hand."""

    list_display = (
        "pk",
        "change_request",
        "status",
        "exhaustion_upper",
        "es99_upper",
        "paths",
        "created_at",
        "completed_at",
    )
    list_filter = ("status",)
    list_select_related = ("change_request__market",)
    readonly_fields = [f.name for f in RiskAttestation._meta.fields]


@admin.register(Scenario)
class ScenarioAdmin(ReadOnlyAdmin):
    """The scenario library: shocks come from data migrations, replays from the Scenarios page (validated there)."""

    list_display = ("name", "slug", "kind", "replay_start", "replay_end", "scale", "created_by", "updated_at")
    list_filter = ("kind",)
    search_fields = ("name", "slug", "description", "source")
