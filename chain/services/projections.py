"""What each contract's logs write, besides the raw ``ChainEvent`` rows.

- PerpMarket: riskgov ``Position`` (external id ``chain:<chain id>:<position id>``) and ``Account``;
- PriceFeed ``AnswerUpdated``: riskgov ``PriceObservation`` (source ``chain:<SYMBOL>``, one per second);
- GovToken: transfers, total-supply checkpoints (mints and burns), delegation changes, voting power;
- RiskParameterRegistry: ``RegistryUpdate``;
- RiskGovernor: ``GovernorProposal``, ``GovernorVote``, ``GovernorProposalEvent`` (queued, executed, canceled,
  extended); RiskTimelock: ``TimelockEvent`` (scheduled, executed, cancelled).

Every function takes a batch of logs in chain order and writes with a handful of bulk statements, so
the cost does not grow with per-event queries. Rows that a rollback removes are recomputed from the
``ChainEvent`` rows that remain (positions and prices), or simply deleted (per-log rows).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chain.events import DecodedLog, json_safe
from chain.models import (
    ChainEvent,
    ContractRole,
    DelegationChange,
    GovernorProposal,
    GovernorProposalEvent,
    GovernorVote,
    IndexerCheckpoint,
    ProposalEventKind,
    RegistryUpdate,
    TimelockEvent,
    TimelockEventKind,
    TokenSupplyCheckpoint,
    TokenTransfer,
    VotingPowerCheckpoint,
)
from chain.services.references import accounts_ensure, markets_ensure
from chain.units import FEED_DECIMALS, from_fixed, market_symbol
from riskgov.markets.models import Position, PositionStatus, PriceObservation

BATCH = 2000
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
PER_LOG_MODELS = (ChainEvent, VotingPowerCheckpoint, DelegationChange, TokenTransfer, TokenSupplyCheckpoint,
                  RegistryUpdate, GovernorProposal, GovernorVote, GovernorProposalEvent, TimelockEvent)  # fmt: skip
POSITION_EVENTS = ("PositionOpened", "CollateralChanged", "PositionResized", "PositionClosed", "PositionLiquidated")
_INTEGER = re.compile(r"-?\d+")


def block_time(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else None


def _log_fields(checkpoint: IndexerCheckpoint, log: DecodedLog) -> dict[str, Any]:
    return {
        "checkpoint": checkpoint,
        "block_number": log.block_number,
        "block_hash": log.block_hash,
        "tx_hash": log.tx_hash,
        "log_index": log.log_index,
    }


_LOG_UPDATE = ["checkpoint", "block_number", "block_hash"]
_LOG_UNIQUE = ["tx_hash", "log_index"]


def events_store(checkpoint: IndexerCheckpoint, logs: Sequence[DecodedLog]) -> None:
    """Upsert the raw decoded logs by (tx hash, log index)."""
    rows = [
        ChainEvent(
            **_log_fields(checkpoint, log),
            address=log.address,
            event=log.event,
            args=json_safe(log.args),
            block_time=block_time(log.block_timestamp),
        )
        for log in logs
    ]
    ChainEvent.objects.bulk_create(
        rows,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=_LOG_UNIQUE,
        update_fields=[*_LOG_UPDATE, "address", "event", "args", "block_time"],
    )


def logs_project(checkpoint: IndexerCheckpoint, logs: Sequence[DecodedLog]) -> None:
    """Write the domain rows of ``logs`` (one contract's, chain order)."""
    if not logs:
        return
    if checkpoint.role == ContractRole.PERP_MARKET:
        positions_project(checkpoint, [log for log in logs if log.event in POSITION_EVENTS])
    elif checkpoint.role == ContractRole.PRICE_FEED:
        prices_project(checkpoint, [log for log in logs if log.event == "AnswerUpdated"])
    elif checkpoint.role == ContractRole.GOV_TOKEN:
        token_project(checkpoint, logs)
    elif checkpoint.role == ContractRole.REGISTRY:
        registry_project(checkpoint, [log for log in logs if log.event == "ParametersUpdated"])
    elif checkpoint.role == ContractRole.GOVERNOR:
        governor_project(checkpoint, logs)
    elif checkpoint.role == ContractRole.TIMELOCK:
        timelock_project(checkpoint, logs)


# Positions ------------------------------------------------------------------------------------------------


def position_external_id(chain_id: int, position_id: int) -> str:
    return f"chain:{chain_id}:{position_id}"


@dataclass
class _PositionState:
    account: str
    market_symbol: str
    size: Decimal
    entry_price: Decimal
    collateral: Decimal
    status: str
    opened_at: datetime | None
    closed_at: datetime | None


def _position_states(logs: Iterable[DecodedLog]) -> dict[int, _PositionState]:
    """The state each position is left in by ``logs``: every event carries the full state."""
    states: dict[int, _PositionState] = {}
    for log in logs:
        args = log.args
        position_id = int(args["positionId"])
        when = block_time(log.block_timestamp)
        previous = states.get(position_id)
        status = {"PositionClosed": PositionStatus.CLOSED, "PositionLiquidated": PositionStatus.LIQUIDATED}.get(
            log.event, PositionStatus.OPEN
        )
        states[position_id] = _PositionState(
            account=args["account"],
            market_symbol=market_symbol(bytes.fromhex(args["marketId"][2:])),
            size=from_fixed(args["size"]),
            entry_price=from_fixed(args["entryPrice"]),
            collateral=from_fixed(args["collateral"]),
            status=status,
            opened_at=when if log.event == "PositionOpened" else (previous.opened_at if previous else None),
            closed_at=when if status != PositionStatus.OPEN else None,
        )
    return states


_POSITION_FIELDS = ("account_id", "market_id", "size", "entry_price", "collateral", "status", "opened_at", "closed_at")


def positions_project(checkpoint: IndexerCheckpoint, logs: Sequence[DecodedLog]) -> None:
    """Upsert the positions touched by ``logs``; rows already equal to the result are not written."""
    if not logs:
        return
    states = _position_states(logs)
    fallback_time = {int(log.args["positionId"]): block_time(log.block_timestamp) for log in logs}
    positions_write(checkpoint, states, fallback_time)


def positions_write(
    checkpoint: IndexerCheckpoint, states: dict[int, _PositionState], fallback_time: dict[int, datetime | None]
) -> None:
    chain_id = checkpoint.deployment.chain_id
    markets = markets_ensure(state.market_symbol for state in states.values())
    accounts = accounts_ensure(state.account for state in states.values())
    external = {position_external_id(chain_id, pid): pid for pid in states}
    existing = {
        row["external_id"]: row
        for row in Position.objects.filter(external_id__in=list(external)).values("external_id", *_POSITION_FIELDS)
    }
    rows = []
    for external_id, pid in external.items():
        state = states[pid]
        stored = existing.get(external_id)
        opened_at = state.opened_at or (stored["opened_at"] if stored else None) or fallback_time.get(pid)
        wanted = {
            "account_id": accounts[state.account],
            "market_id": markets[state.market_symbol].pk,
            "size": state.size,
            "entry_price": state.entry_price,
            "collateral": state.collateral,
            "status": state.status,
            "opened_at": opened_at,
            "closed_at": state.closed_at,
        }
        if stored is not None and all(stored[name] == wanted[name] for name in _POSITION_FIELDS):
            continue  # a duplicate delivery: nothing to change
        rows.append(Position(external_id=external_id, **wanted))
    Position.objects.bulk_create(
        rows,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["external_id"],
        update_fields=["account", "market", "size", "entry_price", "collateral", "status", "opened_at", "closed_at",
                       "updated_at"],
    )  # fmt: skip


def positions_recompute(checkpoint: IndexerCheckpoint, position_ids: set[int]) -> None:
    """After a rollback: rebuild ``position_ids`` from their remaining events, delete those left with none."""
    if not position_ids:
        return
    remaining = [
        event_as_log(event)
        for event in ChainEvent.objects.filter(
            checkpoint=checkpoint, event__in=POSITION_EVENTS, args__positionId__in=[str(p) for p in position_ids]
        ).order_by("block_number", "log_index")
    ]
    states = _position_states(remaining)
    gone = position_ids - states.keys()
    chain_id = checkpoint.deployment.chain_id
    Position.objects.filter(external_id__in=[position_external_id(chain_id, pid) for pid in gone]).delete()
    if states:
        fallback = {int(log.args["positionId"]): block_time(log.block_timestamp) for log in remaining}
        positions_write(checkpoint, states, fallback)


# Prices ---------------------------------------------------------------------------------------------------


def price_source(checkpoint: IndexerCheckpoint) -> str:
    return f"chain:{checkpoint.market_symbol}"


def prices_project(checkpoint: IndexerCheckpoint, logs: Sequence[DecodedLog]) -> None:
    """One observation per ``updatedAt`` second (the feed's last round in that second wins)."""
    if not logs:
        return
    market = markets_ensure([checkpoint.market_symbol])[checkpoint.market_symbol]
    decimals = int(checkpoint.deployment.feed_decimals.get(checkpoint.market_symbol, FEED_DECIMALS))
    source = price_source(checkpoint)
    latest: dict[int, DecodedLog] = {}
    for log in logs:
        latest[int(log.args["updatedAt"])] = log  # chain order: a later round replaces an earlier one
    rows = [
        PriceObservation(
            market=market,
            price=from_fixed(int(log.args["current"]), decimals),
            observed_at=datetime.fromtimestamp(updated_at, UTC),
            source=source,
            round_id=str(log.args["roundId"]),
        )
        for updated_at, log in latest.items()
    ]
    PriceObservation.objects.bulk_create(
        rows,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["market", "source", "observed_at"],
        update_fields=["price", "round_id"],
    )


def prices_recompute(checkpoint: IndexerCheckpoint, updated_at: set[int]) -> None:
    """After a rollback: drop the observations of ``updated_at`` seconds and rebuild them from what remains."""
    if not updated_at:
        return
    market = markets_ensure([checkpoint.market_symbol])[checkpoint.market_symbol]
    PriceObservation.objects.filter(
        market=market,
        source=price_source(checkpoint),
        observed_at__in=[datetime.fromtimestamp(second, UTC) for second in updated_at],
    ).delete()
    remaining = ChainEvent.objects.filter(
        checkpoint=checkpoint, event="AnswerUpdated", args__updatedAt__in=[str(s) for s in updated_at]
    ).order_by("block_number", "log_index")
    prices_project(checkpoint, [event_as_log(event) for event in remaining])


# Governance token -----------------------------------------------------------------------------------------


def token_project(checkpoint: IndexerCheckpoint, logs: Sequence[DecodedLog]) -> None:
    transfers, supplies, delegations, votes = [], [], [], []
    supply: int | None = None
    for log in logs:
        args = log.args
        if log.event == "Transfer":
            sender, recipient, amount = args["from"], args["to"], int(args["value"])
            transfers.append(
                TokenTransfer(**_log_fields(checkpoint, log), sender=sender, recipient=recipient, amount=amount)
            )
            delta = amount if sender == ZERO_ADDRESS else -amount if recipient == ZERO_ADDRESS else 0
            if delta:
                if supply is None:
                    supply = _supply_before(checkpoint, log)
                supply += delta
                supplies.append(TokenSupplyCheckpoint(**_log_fields(checkpoint, log), total_supply=supply, delta=delta))
        elif log.event == "DelegateChanged":
            delegations.append(
                DelegationChange(
                    **_log_fields(checkpoint, log),
                    delegator=args["delegator"],
                    from_delegate=args["fromDelegate"],
                    to_delegate=args["toDelegate"],
                )
            )
        elif log.event == "DelegateVotesChanged":
            votes.append(
                VotingPowerCheckpoint(
                    **_log_fields(checkpoint, log),
                    delegatee=args["delegate"],
                    previous_votes=int(args["previousVotes"]),
                    votes=int(args["newVotes"]),
                )
            )
    _upsert(TokenTransfer, transfers, ["sender", "recipient", "amount"])
    _upsert(TokenSupplyCheckpoint, supplies, ["total_supply", "delta"])
    _upsert(DelegationChange, delegations, ["delegator", "from_delegate", "to_delegate"])
    _upsert(VotingPowerCheckpoint, votes, ["delegatee", "previous_votes", "votes"])


def _supply_before(checkpoint: IndexerCheckpoint, log: DecodedLog) -> int:
    """Supply just before ``log`` (the batch's first mint or burn), from the stored checkpoints."""
    before = (
        TokenSupplyCheckpoint.objects.filter(checkpoint=checkpoint, block_number__lte=log.block_number)
        .exclude(block_number=log.block_number, log_index__gte=log.log_index)
        .order_by("-block_number", "-log_index")
        .values_list("total_supply", flat=True)
        .first()
    )
    return int(before or 0)


# Registry -------------------------------------------------------------------------------------------------


def registry_project(checkpoint: IndexerCheckpoint, logs: Sequence[DecodedLog]) -> None:
    if not logs:
        return
    symbols = {log.args["marketId"]: market_symbol(bytes.fromhex(log.args["marketId"][2:])) for log in logs}
    markets = markets_ensure(symbols.values())
    rows = []
    for log in logs:
        args, symbol = log.args, symbols[log.args["marketId"]]
        rows.append(
            RegistryUpdate(
                **_log_fields(checkpoint, log),
                market=markets[symbol],
                market_symbol=symbol,
                version=int(args["version"]),
                imr=from_fixed(args["imr"]),
                mmr=from_fixed(args["mmr"]),
                max_leverage=from_fixed(args["maxLeverage"]),
                liquidation_penalty=from_fixed(args["liquidationPenalty"]),
                insurance_fee_share=from_fixed(args["insuranceFeeShare"]),
                oi_cap=from_fixed(args["oiCap"]),
            )
        )
    _upsert(RegistryUpdate, rows, ["market", "market_symbol", "version", "imr", "mmr", "max_leverage",
                                   "liquidation_penalty", "insurance_fee_share", "oi_cap"])  # fmt: skip


# Governor and timelock -------------------------------------------------------------------------------------

_PROPOSAL_EVENTS = {
    "ProposalQueued": ProposalEventKind.QUEUED,
    "ProposalExecuted": ProposalEventKind.EXECUTED,
    "ProposalCanceled": ProposalEventKind.CANCELED,
    "ProposalExtended": ProposalEventKind.EXTENDED,
}
_TIMELOCK_EVENTS = {
    "CallScheduled": TimelockEventKind.SCHEDULED,
    "CallExecuted": TimelockEventKind.EXECUTED,
    "Cancelled": TimelockEventKind.CANCELLED,
}


def governor_project(checkpoint: IndexerCheckpoint, logs: Sequence[DecodedLog]) -> None:
    """Proposals as created, votes as counted, and each proposal's queue / execute / cancel / extension."""
    proposals, votes, events = [], [], []
    for log in logs:
        args = log.args
        if log.event == "ProposalCreated":
            proposals.append(
                GovernorProposal(
                    **_log_fields(checkpoint, log),
                    proposal_id=int(args["proposalId"]),
                    proposer=args["proposer"],
                    targets=list(args["targets"]),
                    values=[str(v) for v in args["values"]],
                    calldatas=list(args["calldatas"]),
                    description=args["description"],
                    vote_start=int(args["voteStart"]),
                    vote_end=int(args["voteEnd"]),
                )
            )
        elif log.event in ("VoteCast", "VoteCastWithParams"):
            votes.append(
                GovernorVote(
                    **_log_fields(checkpoint, log),
                    proposal_id=int(args["proposalId"]),
                    voter=args["voter"],
                    support=int(args["support"]),
                    weight=int(args["weight"]),
                    reason=args["reason"],
                    params=args.get("params", ""),
                    with_params=log.event == "VoteCastWithParams",
                )
            )
        elif log.event in _PROPOSAL_EVENTS:
            events.append(
                GovernorProposalEvent(
                    **_log_fields(checkpoint, log),
                    proposal_id=int(args["proposalId"]),
                    kind=_PROPOSAL_EVENTS[log.event],
                    eta=int(args["etaSeconds"]) if "etaSeconds" in args else None,
                    extended_deadline=int(args["extendedDeadline"]) if "extendedDeadline" in args else None,
                )
            )
    _upsert(GovernorProposal, proposals, ["proposal_id", "proposer", "targets", "values", "calldatas", "description",
                                          "vote_start", "vote_end"])  # fmt: skip
    _upsert(GovernorVote, votes, ["proposal_id", "voter", "support", "weight", "reason", "params", "with_params"])
    _upsert(GovernorProposalEvent, events, ["proposal_id", "kind", "eta", "extended_deadline"])


def timelock_project(checkpoint: IndexerCheckpoint, logs: Sequence[DecodedLog]) -> None:
    """The timelock's scheduled, executed (one row per call of a batch) and cancelled operations."""
    rows = []
    for log in logs:
        kind = _TIMELOCK_EVENTS.get(log.event)
        if kind is None:
            continue  # role changes, salts, delay changes: kept as raw events only
        args = log.args
        rows.append(
            TimelockEvent(
                **_log_fields(checkpoint, log),
                operation_id=args["id"],
                kind=kind,
                call_index=int(args["index"]) if "index" in args else None,
                target=args.get("target", ""),
                value=int(args["value"]) if "value" in args else None,
                data=args.get("data", ""),
                predecessor=args.get("predecessor", ""),
                delay=int(args["delay"]) if "delay" in args else None,
            )
        )
    _upsert(TimelockEvent, rows, ["operation_id", "kind", "call_index", "target", "value", "data", "predecessor",
                                  "delay"])  # fmt: skip


def _upsert(model: Any, rows: list[Any], fields: list[str]) -> None:
    if rows:
        model.objects.bulk_create(
            rows, batch_size=BATCH, update_conflicts=True, unique_fields=_LOG_UNIQUE, update_fields=_LOG_UPDATE + fields
        )


# Rollback -------------------------------------------------------------------------------------------------


def rows_rollback(checkpoint: IndexerCheckpoint, *, after_block: int) -> int:
    """Delete everything ``checkpoint`` wrote from blocks after ``after_block`` and recompute the riskgov
    rows those blocks touched. Returns the number of raw events removed."""
    orphaned = list(
        ChainEvent.objects.filter(checkpoint=checkpoint, block_number__gt=after_block).values_list("event", "args")
    )
    for model in PER_LOG_MODELS:
        model.objects.filter(checkpoint=checkpoint, block_number__gt=after_block).delete()
    if checkpoint.role == ContractRole.PERP_MARKET:
        positions_recompute(
            checkpoint, {int(args["positionId"]) for event, args in orphaned if event in POSITION_EVENTS}
        )
    elif checkpoint.role == ContractRole.PRICE_FEED:
        prices_recompute(checkpoint, {int(args["updatedAt"]) for event, args in orphaned if event == "AnswerUpdated"})
    return len(orphaned)


def event_as_log(event: ChainEvent) -> DecodedLog:
    """A stored event back in decoded form (integer strings become ints again)."""
    args = {
        key: int(value) if isinstance(value, str) and _INTEGER.fullmatch(value) else value
        for key, value in event.args.items()
    }
    return DecodedLog(
        address=event.address,
        event=event.event,
        args=args,
        block_number=event.block_number,
        block_hash=event.block_hash,
        block_timestamp=int(event.block_time.timestamp()) if event.block_time else None,
        tx_hash=event.tx_hash,
        log_index=event.log_index,
    )
