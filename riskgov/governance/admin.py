"""Admin for governance: settings (one row, staff-editable), proposals with their derived state, votes, links."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from riskgov.core.admin_base import (
    DeletableReadOnlyPermissions,
    ReadOnlyAdmin,
    ReadOnlyPermissions,
    SingletonPermissions,
)
from riskgov.governance.domain.state import proposal_state
from riskgov.governance.models import (
    DelegateStatement,
    DelegationRelay,
    GovernanceMode,
    GovernanceSettings,
    NotificationDelivery,
    NotificationSubscriber,
    ParameterChange,
    Proposal,
    ProposalExecution,
    ProposalState,
    StaffAddress,
    Vote,
    VoteRelay,
    VoterNonce,
)
from riskgov.governance.selectors import onchain as onchain_selectors
from riskgov.governance.selectors.proposals import tally_attach


@admin.register(GovernanceSettings)
class GovernanceSettingsAdmin(SingletonPermissions, admin.ModelAdmin):
    list_display = [
        "__str__",
        "proposal_threshold",
        "voting_delay_seconds",
        "voting_period_seconds",
        "quorum_fraction",
        "timelock_seconds",
        "grace_period_seconds",
        "guardian_address",
        "governance_mode",
        "updated_at",
    ]
    readonly_fields = ["governance_mode"]

    @admin.display(description="governance mode")
    def governance_mode(self, obj: GovernanceSettings) -> str:
        """The deployment's mode (RISKGOV_GOVERNANCE_MODE, from the environment); on chain these settings are the
        Governor's from its deployment (chain_deploy) on."""
        mode = onchain_selectors.governance_mode()
        if mode == GovernanceMode.ONCHAIN:
            return "on-chain: a RiskGovernor and its timelock own the registry (settings copied at chain_deploy)"
        return "off-chain: the app tallies ballots and the executor key applies the result"


class ParameterChangeInline(ReadOnlyPermissions, admin.TabularInline):
    model = ParameterChange
    extra = 0
    readonly_fields = ["market", "field", "old_value", "new_value"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ParameterChange]:
        return super().get_queryset(request).select_related("market")


class ProposalExecutionInline(ReadOnlyPermissions, admin.TabularInline):
    model = ProposalExecution
    extra = 0
    readonly_fields = [
        "market",
        "tx_hash",
        "block_number",
        "registry_version",
        "pushed_at",
        "parameters",
        "registry_values",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProposalExecution]:
        return super().get_queryset(request).select_related("market", "parameters__market")


class ProposalChangeList(ChangeList):
    """The changelist page with every row's tally attached in one query, so the derived state costs nothing."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        tally_attach(self.result_list)  # evaluates the page once; the rows keep their tally when rendered


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    """Read-only: proposals change through their lifecycle services (pages, API, periodic task)."""

    list_display = ["pk", "title", "current_state", "proposer", "vote_count", "voting_ends_at", "executed_at"]
    search_fields = ["title", "proposer"]
    readonly_fields = ["current_state"]
    inlines = [ParameterChangeInline, ProposalExecutionInline]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ProposalChangeList

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Proposal | None:
        proposal = super().get_object(request, object_id, from_field)
        if proposal is not None:
            tally_attach([proposal])
        return proposal

    @admin.display(description="State")
    def current_state(self, obj: Proposal) -> str:
        return str(ProposalState(proposal_state(obj, timezone.now())).label)


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ["proposal", "voter", "support", "weight", "nonce", "reason_signed", "created_at"]
    list_filter = ["support", "reason_signed"]
    search_fields = ["voter"]
    list_select_related = ["proposal"]


@admin.register(VoteRelay)
class VoteRelayAdmin(ReadOnlyAdmin):
    """Read-only: each ballot's relay to the Governor (counted, already counted, reverted with its reason, or
    waiting), written by the relayer task only."""

    list_display = [
        "pk", "proposal", "voter", "status", "tx_hash", "block_number", "gas_used", "attempts", "relayed_at",
    ]  # fmt: skip
    list_filter = ["status"]
    search_fields = ["vote__voter", "tx_hash"]
    list_select_related = ["vote__proposal"]
    readonly_fields = [
        "vote", "status", "relayer", "tx_hash", "block_number", "gas_used", "revert_reason", "attempts", "created_at",
        "relayed_at",
    ]  # fmt: skip

    @admin.display(description="proposal", ordering="vote__proposal")
    def proposal(self, obj: VoteRelay) -> str:
        return str(obj.vote.proposal)

    @admin.display(description="voter", ordering="vote__voter")
    def voter(self, obj: VoteRelay) -> str:
        return obj.vote.voter


@admin.register(VoterNonce)
class VoterNonceAdmin(ReadOnlyAdmin):
    """Read-only: a nonce only moves forward, with the vote that consumes it."""

    list_display = ["voter", "next_nonce", "updated_at"]
    search_fields = ["voter"]


@admin.register(StaffAddress)
class StaffAddressAdmin(admin.ModelAdmin):
    list_display = ["user", "address"]
    search_fields = ["user__username", "address"]


@admin.register(DelegationRelay)
class DelegationRelayAdmin(ReadOnlyAdmin):
    """Read-only: relays are written by the relay endpoint and the relay task."""

    list_display = ["pk", "delegator", "delegatee", "nonce", "status", "tx_hash", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["delegator", "delegatee", "tx_hash"]


@admin.register(DelegateStatement)
class DelegateStatementAdmin(ReadOnlyAdmin):
    """Read-only: a statement is published only with the delegate's signature."""

    list_display = ["delegate", "version", "created_at"]
    search_fields = ["delegate"]


@admin.register(NotificationSubscriber)
class NotificationSubscriberAdmin(ReadOnlyAdmin):
    """Read-only: a subscriber confirms and unsubscribes through the signed links, which keeps the send history."""

    list_display = ["pk", "channel", "email", "url", "address", "confirmed_at", "unsubscribed_at", "created_at"]
    list_filter = ["channel"]
    search_fields = ["email", "url", "address"]


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(DeletableReadOnlyPermissions, admin.ModelAdmin):
    list_display = ["event", "proposal", "subscriber", "status", "attempts", "sent_at"]
    list_filter = ["status", "event"]
    list_select_related = ["proposal", "subscriber"]
    readonly_fields = ["event", "proposal", "subscriber", "status", "attempts", "sent_at", "last_error", "created_at"]
