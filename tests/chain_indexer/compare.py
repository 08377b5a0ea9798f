"""Assertions that the database holds what the chain holds."""

from __future__ import annotations

from datetime import UTC, datetime

from chain.errors import ContractReverted
from chain.models import ChainDeployment, ChainEvent, IndexerCheckpoint, RegistryUpdate
from chain.selectors.voting import total_supply, voting_power
from chain.units import from_fixed, market_symbol
from riskgov.markets.models import Position, PositionStatus, PriceObservation
from tests.chain_indexer.conftest import DemoChain


def assert_positions_match(chain: DemoChain, deployment: ChainDeployment) -> None:
    perp = chain.perp
    next_id = perp.functions.nextPositionId().call()
    stored = {p.external_id: p for p in Position.objects.select_related("account", "market")}
    chain_rows = {key for key in stored if key.startswith(f"chain:{deployment.chain_id}:")}
    assert len(chain_rows) == next_id - 1
    for position_id in range(1, next_id):
        row = stored[f"chain:{deployment.chain_id}:{position_id}"]
        try:
            account, market_id, size, entry, collateral, opened_at = chain.client.call(
                perp.functions.getPosition(position_id)
            )
        except ContractReverted:
            size = 0  # removed when closed or liquidated
        if size != 0:
            assert row.status == PositionStatus.OPEN, position_id
            assert row.account.address == account
            assert f"{row.market.symbol}-{row.market.quote_asset}" == market_symbol(market_id)
            assert row.size == from_fixed(size)
            assert row.entry_price == from_fixed(entry)
            assert row.collateral == from_fixed(collateral)
            assert row.opened_at == datetime.fromtimestamp(opened_at, UTC)
            assert row.closed_at is None
        else:
            assert row.status in (PositionStatus.CLOSED, PositionStatus.LIQUIDATED), position_id
            assert row.closed_at is not None


def assert_prices_match(chain: DemoChain) -> None:
    for symbol in chain.addresses["price_feeds"]:
        round_id, answer, _, updated_at, _ = chain.feed(symbol).functions.latestRoundData().call()
        latest = PriceObservation.objects.filter(source=f"chain:{symbol}").order_by("-observed_at").first()
        assert latest is not None, symbol
        assert latest.market.symbol == symbol.split("-")[0]
        assert latest.price == from_fixed(answer, 8)
        assert latest.round_id == str(round_id)
        assert latest.observed_at == datetime.fromtimestamp(updated_at, UTC)


def assert_votes_match(chain: DemoChain, blocks: list[int]) -> None:
    token = chain.token
    for block in blocks:
        assert total_supply(block) == token.functions.getPastTotalSupply(block).call(), block
        for holder in chain.summary["holders"]:
            assert voting_power(holder, block) == token.functions.getPastVotes(holder, block).call(), (holder, block)


def assert_registry_matches(chain: DemoChain) -> None:
    from chain.units import market_id

    for symbol in chain.addresses["price_feeds"]:
        imr, mmr, leverage, penalty, share, oi_cap, version, _ = chain.registry.functions.getParameters(
            market_id(symbol)
        ).call()
        latest = RegistryUpdate.objects.filter(market_symbol=symbol).order_by("-version").first()
        assert latest is not None
        assert (latest.version, latest.imr, latest.mmr, latest.max_leverage) == (
            version,
            from_fixed(imr),
            from_fixed(mmr),
            from_fixed(leverage),
        )
        assert (latest.liquidation_penalty, latest.insurance_fee_share, latest.oi_cap) == (
            from_fixed(penalty),
            from_fixed(share),
            from_fixed(oi_cap),
        )


def assert_events_complete(chain: DemoChain, deployment: ChainDeployment) -> None:
    """Every log of every contract up to the checkpoint is stored once, with its block hash."""
    for checkpoint in IndexerCheckpoint.objects.filter(deployment=deployment):
        logs = chain.client.rpc(
            "eth_getLogs",
            {"address": checkpoint.address, "fromBlock": hex(deployment.deployment_block),
             "toBlock": hex(checkpoint.block_number)},
        )  # fmt: skip
        stored = set(ChainEvent.objects.filter(checkpoint=checkpoint).values_list("tx_hash", "log_index", "block_hash"))
        assert stored == {(log["transactionHash"], int(log["logIndex"], 16), log["blockHash"]) for log in logs}


def assert_db_matches_chain(chain: DemoChain, deployment: ChainDeployment) -> None:
    head = chain.client.block_number
    assert_events_complete(chain, deployment)
    assert_positions_match(chain, deployment)
    assert_prices_match(chain)
    assert_registry_matches(chain)
    chain.client.rpc("evm_mine")  # getPastVotes needs a block strictly before the current one
    first = deployment.deployment_block
    assert_votes_match(chain, sorted({first, first + 10, (first + head) // 2, head - 3, head}))
