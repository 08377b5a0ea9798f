"""Admin for governance: settings (one row, staff-editable), proposals with their derived state, votes, links."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from riskgov.governance.domain.state import proposal_state
from riskgov.governance.models import (
    GovernanceSettings,
    ParameterChange,
    Proposal,
    ProposalExecution,
    ProposalState,
    StaffAddress,
    Vote,
)
from riskgov.governance.selectors.proposals import tally_attach


@admin.register(GovernanceSettings)
class GovernanceSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "proposal_threshold",
        "voting_delay_seconds",
        "voting_period_seconds",
        "quorum_fraction",
        "timelock_seconds",
        "grace_period_seconds",
        "guardian_address",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not GovernanceSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ParameterChangeInline(admin.TabularInline):
    model = ParameterChange
    extra = 0
    can_delete = False
    readonly_fields = ["market", "field", "old_value", "new_value"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ProposalExecutionInline(admin.TabularInline):
    model = ProposalExecution
    extra = 0
    can_delete = False
    readonly_fields = [
        "market",
        "tx_hash",
        "block_number",
        "registry_version",
        "pushed_at",
        "parameters",
        "registry_values",
    ]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    """Read-only: proposals change through their lifecycle services (pages, API, periodic task)."""

    list_display = ["pk", "title", "current_state", "proposer", "vote_count", "voting_ends_at", "executed_at"]
    search_fields = ["title", "proposer"]
    inlines = [ParameterChangeInline, ProposalExecutionInline]

    @admin.display(description="State")
    def current_state(self, obj: Proposal) -> str:
        tally_attach([obj])
        return str(ProposalState(proposal_state(obj, timezone.now())).label)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in Proposal._meta.fields] + ["current_state"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ["proposal", "voter", "support", "weight", "nonce", "created_at"]
    list_filter = ["support"]
    search_fields = ["voter"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in Vote._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(StaffAddress)
class StaffAddressAdmin(admin.ModelAdmin):
    list_display = ["user", "address"]
    search_fields = ["user__username", "address"]
