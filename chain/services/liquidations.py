"""Realised liquidations from the PerpMarket's ``PositionLiquidated`` logs.

Each event becomes one riskgov ``Liquidation`` (source ``chain``), keyed by the liquidated position's
external id ``chain:<chain id>:<position id>`` (the contract deletes a position when it liquidates it,
so an id is liquidated at most once) and upserted, so a duplicate delivery changes nothing. Amounts
come from the event's 1e18 fixed-point fields: execution price ``x``, penalty and bad debt as the
contract computed them (``badDebt = max(0, −(C + s·(x − e)))``), notional ``|s|·x``.

A reorg rollback deletes the rows of the orphaned events; the new branch's events write them again.
"""

from __future__ import annotations

from collections.abc import Sequence

from chain.events import DecodedLog
from chain.models import ChainEvent, ContractRole, IndexerCheckpoint
from chain.services.projections import BATCH, block_time, position_external_id
from chain.services.references import accounts_ensure, markets_ensure
from chain.units import from_fixed, market_symbol
from riskgov.markets.models import Liquidation, LiquidationSource, Position, liquidation_notional

LIQUIDATION_EVENT = "PositionLiquidated"
# What a duplicate delivery compares before writing: rows already equal are not touched.
_COMPARED = ("market_id", "account_id", "position_id", "liquidated_at", "size", "entry_price", "collateral", "price",
             "notional", "penalty", "bad_debt", "liquidator", "tx_hash", "log_index", "block_number")  # fmt: skip
_UPDATE_FIELDS = ["market", "account", "position", "liquidated_at", "size", "entry_price", "collateral", "price",
                  "notional", "penalty", "bad_debt", "liquidator", "tx_hash", "log_index", "block_number",
                  "updated_at"]  # fmt: skip


def liquidations_project(checkpoint: IndexerCheckpoint, logs: Sequence[DecodedLog]) -> int:
    """Upsert a ``Liquidation`` per ``PositionLiquidated`` log of a PerpMarket checkpoint (rows already equal are
    not written); returns how many events there were."""
    if checkpoint.role != ContractRole.PERP_MARKET:
        return 0
    events = [log for log in logs if log.event == LIQUIDATION_EVENT]
    if not events:
        return 0
    chain_id = checkpoint.deployment.chain_id
    symbols = {log.args["marketId"]: market_symbol(bytes.fromhex(log.args["marketId"][2:])) for log in events}
    markets = markets_ensure(symbols.values())
    accounts = accounts_ensure(log.args["account"] for log in events)
    external_ids = [position_external_id(chain_id, int(log.args["positionId"])) for log in events]
    positions = dict(Position.objects.filter(external_id__in=external_ids).values_list("external_id", "pk"))
    rows = []
    for log, external_id in zip(events, external_ids, strict=True):
        args = log.args
        size, price = from_fixed(args["size"]), from_fixed(args["price"])
        liquidated_at = block_time(log.block_timestamp)
        if liquidated_at is None:
            raise ValueError(f"{LIQUIDATION_EVENT} at block {log.block_number} has no block timestamp")
        rows.append(
            Liquidation(
                source=LiquidationSource.CHAIN,
                external_id=external_id,
                market=markets[symbols[args["marketId"]]],
                account_id=accounts[args["account"]],
                position_id=positions.get(external_id),
                liquidated_at=liquidated_at,
                size=size,
                entry_price=from_fixed(args["entryPrice"]),
                collateral=from_fixed(args["collateral"]),
                price=price,
                notional=liquidation_notional(size, price),
                penalty=from_fixed(args["penalty"]),
                bad_debt=from_fixed(args["badDebt"]),
                liquidator=args["liquidator"],
                tx_hash=log.tx_hash,
                log_index=log.log_index,
                block_number=log.block_number,
            )
        )
    stored = {
        row[0]: row[1:]
        for row in Liquidation.objects.filter(source=LiquidationSource.CHAIN, external_id__in=external_ids).values_list(
            "external_id", *_COMPARED
        )
    }
    rows = [row for row in rows if stored.get(row.external_id) != tuple(getattr(row, name) for name in _COMPARED)]
    Liquidation.objects.bulk_create(
        rows,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["source", "external_id"],
        update_fields=_UPDATE_FIELDS,
    )
    return len(events)


def liquidations_rollback(checkpoint: IndexerCheckpoint, *, after_block: int) -> int:
    """Delete the liquidations written from ``checkpoint``'s events in blocks after ``after_block``.

    Call it before the raw events themselves are rolled back: they say which positions to forget.
    """
    if checkpoint.role != ContractRole.PERP_MARKET:
        return 0
    position_ids = ChainEvent.objects.filter(
        checkpoint=checkpoint, block_number__gt=after_block, event=LIQUIDATION_EVENT
    ).values_list("args__positionId", flat=True)
    chain_id = checkpoint.deployment.chain_id
    external_ids = [position_external_id(chain_id, int(pid)) for pid in position_ids]
    if not external_ids:
        return 0
    deleted, _ = Liquidation.objects.filter(source=LiquidationSource.CHAIN, external_id__in=external_ids).delete()
    return deleted


__all__ = ["LIQUIDATION_EVENT", "liquidations_project", "liquidations_rollback"]
