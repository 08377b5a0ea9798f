"""Admin for the chain app: deployments and checkpoints are visible, indexed rows read-only."""

from __future__ import annotations

from django.contrib import admin

from chain.models import (
    ChainDeployment,
    ChainEvent,
    DelegationChange,
    GovernorProposal,
    GovernorProposalEvent,
    GovernorVote,
    IndexerCheckpoint,
    RegistryUpdate,
    TimelockEvent,
    TokenSupplyCheckpoint,
    TokenTransfer,
    VotingPowerCheckpoint,
)
from riskgov.core.admin_base import ReadOnlyAdmin  # indexer rows: hand edits would desync the chain view


@admin.register(ChainDeployment)
class ChainDeploymentAdmin(ReadOnlyAdmin):
    list_display = ["chain_id", "deployment_block", "governance_mode", "gov_token", "registry", "perp_market",
                    "governor", "is_active", "created_at"]  # fmt: skip
    list_filter = ["chain_id", "is_active", "governance_mode"]


@admin.register(IndexerCheckpoint)
class IndexerCheckpointAdmin(ReadOnlyAdmin):
    list_display = ["deployment", "role", "market_symbol", "address", "block_number", "events_indexed",
                    "last_error_at", "updated_at"]  # fmt: skip
    list_filter = ["role"]
    list_select_related = ["deployment"]


class IndexedRowAdmin(ReadOnlyAdmin):
    list_per_page = 100
    show_full_result_count = False


@admin.register(ChainEvent)
class ChainEventAdmin(IndexedRowAdmin):
    list_display = ["event", "address", "block_number", "log_index", "tx_hash", "block_time"]
    list_filter = ["event"]
    search_fields = ["tx_hash", "address"]


@admin.register(VotingPowerCheckpoint)
class VotingPowerCheckpointAdmin(IndexedRowAdmin):
    list_display = ["delegatee", "votes", "previous_votes", "block_number", "log_index"]
    search_fields = ["delegatee"]


@admin.register(DelegationChange)
class DelegationChangeAdmin(IndexedRowAdmin):
    list_display = ["delegator", "from_delegate", "to_delegate", "block_number"]
    search_fields = ["delegator", "to_delegate"]


@admin.register(TokenTransfer)
class TokenTransferAdmin(IndexedRowAdmin):
    list_display = ["sender", "recipient", "amount", "block_number", "log_index"]
    search_fields = ["sender", "recipient", "tx_hash"]


@admin.register(TokenSupplyCheckpoint)
class TokenSupplyCheckpointAdmin(IndexedRowAdmin):
    list_display = ["total_supply", "delta", "block_number", "log_index"]


@admin.register(RegistryUpdate)
class RegistryUpdateAdmin(IndexedRowAdmin):
    list_display = ["market_symbol", "version", "imr", "mmr", "max_leverage", "liquidation_penalty", "oi_cap",
                    "block_number"]  # fmt: skip
    list_filter = ["market_symbol"]


@admin.register(GovernorProposal)
class GovernorProposalAdmin(IndexedRowAdmin):
    list_display = ["proposal_id", "proposer", "vote_start", "vote_end", "block_number", "tx_hash"]
    search_fields = ["proposer", "tx_hash", "description"]


@admin.register(GovernorVote)
class GovernorVoteAdmin(IndexedRowAdmin):
    list_display = ["proposal_id", "voter", "support", "weight", "with_params", "block_number", "tx_hash"]
    list_filter = ["support", "with_params"]
    search_fields = ["voter", "tx_hash"]


@admin.register(GovernorProposalEvent)
class GovernorProposalEventAdmin(IndexedRowAdmin):
    list_display = ["proposal_id", "kind", "eta", "extended_deadline", "block_number", "tx_hash"]
    list_filter = ["kind"]


@admin.register(TimelockEvent)
class TimelockEventAdmin(IndexedRowAdmin):
    list_display = ["operation_id", "kind", "call_index", "target", "delay", "block_number", "tx_hash"]
    list_filter = ["kind"]
    search_fields = ["operation_id", "tx_hash"]
