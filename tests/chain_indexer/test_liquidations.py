"""PositionLiquidated events become realised liquidations; a reorg takes orphaned ones away again."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chain.models import ChainEvent, ContractRole, IndexerCheckpoint
from chain.services.indexer import deployment_index
from chain.services.liquidations import liquidations_project
from chain.services.projections import event_as_log
from chain.units import from_fixed
from riskgov.markets.models import Liquidation, LiquidationSource, Position, liquidation_notional
from tests.chain_indexer.helpers import holder, move_price, open_position

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _liquidated_logs(chain):
    """The market's PositionLiquidated events as web3 decodes them (independent of the indexer's decoder)."""
    return chain.perp.events.PositionLiquidated.get_logs(from_block=chain.addresses["deployment_block"])


def _liquidate_underwater_long(chain) -> tuple[int, tuple[object, ...]]:
    """A 20x long on ETH, a 12 % drop (past bankruptcy), liquidated; returns its id and its state before."""
    trader = holder(chain, chain.summary["holders"][1])
    position_id = open_position(chain, trader, symbol="ETH-USD", notional=40_000, leverage=20, side=1)
    state = chain.perp.functions.getPosition(position_id).call()
    move_price(chain, "ETH-USD", Decimal("0.88"))
    chain.client.transact(chain.perp.functions.liquidate(position_id), sender=chain.accounts.keeper)
    return position_id, state


def test_liquidation_events_become_liquidations_with_their_bad_debt(demo_chain, deployment):
    position_id, before = _liquidate_underwater_long(demo_chain)
    deployment_index(deployment=deployment)

    logs = _liquidated_logs(demo_chain)
    assert len(logs) == len(demo_chain.summary["liquidated_position_ids"]) + 1
    rows = {row.external_id: row for row in Liquidation.objects.select_related("market", "account")}
    assert set(rows) == {f"chain:31337:{log.args.positionId}" for log in logs}
    for log in logs:
        row, args = rows[f"chain:31337:{log.args.positionId}"], log.args
        assert row.source == LiquidationSource.CHAIN
        assert row.account.address == args.account
        assert (row.size, row.entry_price, row.collateral, row.price) == tuple(
            from_fixed(v) for v in (args.size, args.entryPrice, args.collateral, args.price)
        )
        assert (row.penalty, row.bad_debt) == (from_fixed(args.penalty), from_fixed(args.badDebt))
        assert row.notional == liquidation_notional(row.size, row.price)
        assert abs(row.notional - abs(row.size) * row.price) <= Decimal("1e-18")
        assert (row.tx_hash, row.log_index, row.block_number) == (log.transactionHash.to_0x_hex(), log.logIndex,
                                                                  log.blockNumber)  # fmt: skip
        assert row.position == Position.objects.get(external_id=row.external_id)
        block = demo_chain.client.rpc("eth_getBlockByNumber", hex(log.blockNumber), False)
        assert int(row.liquidated_at.timestamp()) == int(block["timestamp"], 16)

    # The underwater one: the fund absorbed -(C + s·(x − e)), computed here from the position before.
    row = rows[f"chain:31337:{position_id}"]
    size, entry, collateral = (from_fixed(before[i]) for i in (2, 3, 4))
    equity = collateral + size * (row.price - entry)
    assert equity < 0
    assert abs(row.bad_debt - (-equity)) < Decimal("1e-17")  # the contract rounds to whole wei
    assert row.penalty == 0
    assert row.market.symbol == "ETH"

    # Duplicate delivery: the same logs again change nothing, not even the rows' update times.
    stamps = sorted(Liquidation.objects.values_list("pk", "updated_at"))
    checkpoint = IndexerCheckpoint.objects.get(role=ContractRole.PERP_MARKET)
    events = ChainEvent.objects.filter(checkpoint=checkpoint, event="PositionLiquidated")
    assert liquidations_project(checkpoint, [event_as_log(event) for event in events]) == len(logs)
    assert sorted(Liquidation.objects.values_list("pk", "updated_at")) == stamps
    # A row changed by hand is written back from its event.
    Liquidation.objects.filter(pk=row.pk).update(bad_debt=0)
    liquidations_project(checkpoint, [event_as_log(event) for event in events])
    assert Liquidation.objects.get(pk=row.pk).bad_debt == row.bad_debt


def test_a_reorg_removes_the_orphaned_liquidation(demo_chain, deployment):
    deployment_index(deployment=deployment)
    kept = set(Liquidation.objects.values_list("external_id", flat=True))
    fork = demo_chain.client.rpc("evm_snapshot")
    position_id, _ = _liquidate_underwater_long(demo_chain)
    deployment_index(deployment=deployment)
    assert Liquidation.objects.filter(external_id=f"chain:31337:{position_id}").exists()

    demo_chain.client.rpc("evm_revert", fork)
    demo_chain.client.rpc("anvil_mine", hex(6))
    runs = deployment_index(deployment=deployment)

    assert all(run.error == "" for run in runs)
    assert any(run.rollbacks for run in runs)
    assert set(Liquidation.objects.values_list("external_id", flat=True)) == kept
