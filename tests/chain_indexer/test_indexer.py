"""The indexer against a real Anvil node: the database ends up holding what the chain holds."""

from __future__ import annotations

import pytest

from chain.models import ChainEvent, IndexerCheckpoint, VotingPowerCheckpoint
from chain.selectors.voting import BlockNotIndexed, delegation_status, voting_power
from chain.services.indexer import IndexerConfig, contract_index, deployment_index
from riskgov.markets.models import Market, PositionStatus
from tests.chain_indexer.compare import assert_db_matches_chain

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_index_fills_the_database_from_the_chain(demo_chain, deployment):
    runs = deployment_index(deployment=deployment)

    assert [run.error for run in runs] == [""] * len(runs)
    head = demo_chain.client.block_number
    assert all(cp.block_number == head for cp in IndexerCheckpoint.objects.all())
    assert sum(run.events for run in runs) == ChainEvent.objects.count() > 150
    assert {(m.symbol, m.quote_asset) for m in Market.objects.all()} >= {("ETH", "USD"), ("BTC", "USD"), ("SOL", "USD")}
    assert_db_matches_chain(demo_chain, deployment)


def test_position_statuses_follow_the_market_events(demo_chain, deployment):
    deployment_index(deployment=deployment)
    from riskgov.markets.models import Position

    summary = demo_chain.summary
    status = dict(Position.objects.values_list("external_id", "status"))
    for ids, expected in (
        (summary["open_position_ids"], PositionStatus.OPEN),
        (summary["closed_position_ids"], PositionStatus.CLOSED),
        (summary["liquidated_position_ids"], PositionStatus.LIQUIDATED),
    ):
        assert ids
        assert {status[f"chain:31337:{pid}"] for pid in ids} == {expected}


def test_delegation_status_matches_the_token(demo_chain, deployment):
    deployment_index(deployment=deployment)
    token = demo_chain.token
    summary = demo_chain.summary
    for holder in summary["holders"]:
        status = delegation_status(holder.lower())
        assert status.balance == token.functions.balanceOf(holder).call()
        assert status.votes == token.functions.getVotes(holder).call()
        delegate = token.functions.delegates(holder).call()
        assert status.delegate == (None if int(delegate, 16) == 0 else delegate)
        assert status.needs_delegation == (holder in summary["undelegated"])


def test_blocks_past_the_index_are_refused(demo_chain, deployment):
    deployment_index(deployment=deployment)
    head = demo_chain.client.block_number

    with pytest.raises(BlockNotIndexed, match=f"block {head + 1} is not indexed yet"):
        voting_power(demo_chain.summary["holders"][0], head + 1)


def test_small_ranges_and_confirmations(demo_chain, deployment):
    head = demo_chain.client.block_number
    config = IndexerConfig(block_range=7, confirmations=3)

    runs = deployment_index(deployment=deployment, config=config)

    start = deployment.deployment_block - 1
    assert all(run.end_block == head - 3 for run in runs)
    assert runs[0].ranges == -(-(head - 3 - start) // 7)
    assert VotingPowerCheckpoint.objects.filter(block_number__gt=head - 3).count() == 0
    contract_index(role="gov_token", config=IndexerConfig(block_range=7, confirmations=0))
    assert IndexerCheckpoint.objects.get(role="gov_token").block_number == head


def test_reindex_restores_rows_removed_by_hand(demo_chain, deployment):
    from io import StringIO

    from django.core.management import call_command

    from riskgov.markets.models import Position, PriceObservation

    deployment_index(deployment=deployment)
    # As seed_demo --reset does with its markets: positions first, then the market with its prices.
    Position.objects.filter(market__symbol="ETH").delete()
    Market.objects.filter(symbol="ETH").delete()
    assert not PriceObservation.objects.filter(source="chain:ETH-USD").exists()
    out = StringIO()

    call_command("chain_reindex", stdout=out)

    assert f"Indexed {ChainEvent.objects.count()} events" in out.getvalue()
    assert Position.objects.filter(market__symbol="ETH").exists()
    assert_db_matches_chain(demo_chain, deployment)
