"""Reorgs, duplicate delivery, RPC failures and overlapping runs."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from eth_typing import URI
from web3 import Web3

from chain.anvil import free_port
from chain.client import ChainClient, RetryingHTTPProvider, RetryPolicy
from chain.models import (
    ChainEvent,
    DelegationChange,
    IndexerCheckpoint,
    RegistryUpdate,
    TokenSupplyCheckpoint,
    TokenTransfer,
    VotingPowerCheckpoint,
)
from chain.services.indexer import IndexerConfig, contract_index, deployment_index
from riskgov.markets.models import Account, Position, PriceObservation
from tests.chain_indexer.compare import assert_db_matches_chain
from tests.chain_indexer.helpers import delegate, holder, move_price, open_position, transfer

pytestmark = [pytest.mark.integration]

INDEXED = (ChainEvent, VotingPowerCheckpoint, DelegationChange, TokenTransfer, TokenSupplyCheckpoint, RegistryUpdate)


def table_contents() -> dict[str, list[tuple[object, ...]]]:
    """Every row the indexer writes, all columns, in a stable order."""
    models = (*INDEXED, IndexerCheckpoint, Position, PriceObservation, Account)
    contents = {}
    for model in models:
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in ("last_success_at", "updated_at")]
        if model is Position:
            fields.append("updated_at")  # unchanged rows must not even be touched
        contents[model.__name__] = sorted(model.objects.values_list(*fields), key=repr)
    return contents


@pytest.mark.django_db
def test_reorg_rolls_back_orphaned_rows_and_reads_the_new_branch(demo_chain, deployment):
    chain, summary = demo_chain, demo_chain.summary
    deployment_index(deployment=deployment)
    fork = chain.client.rpc("evm_snapshot")
    fork_block = chain.client.block_number

    # The branch that will be orphaned: a new position, a price, a delegation and a transfer.
    idle = holder(chain, summary["undelegated"][0])
    trader = holder(chain, summary["holders"][1])
    orphan_position = open_position(chain, trader, symbol="ETH-USD", notional=50_000, leverage=5, side=1)
    move_price(chain, "ETH-USD", Decimal("1.02"))
    delegate(chain, idle, idle.address)
    transfer(chain, trader, idle.address, 10**18)
    deployment_index(deployment=deployment)
    orphaned = set(ChainEvent.objects.filter(block_number__gt=fork_block).values_list("block_hash", flat=True))
    assert len(orphaned) == 4
    assert Position.objects.filter(external_id=f"chain:31337:{orphan_position}", size__gt=0).exists()

    # The canonical branch: other transactions, more blocks; the same position id goes to someone else.
    chain.client.rpc("evm_revert", fork)
    other = holder(chain, summary["holders"][2])
    replacement = open_position(chain, other, symbol="BTC-USD", notional=20_000, leverage=4, side=-1)
    assert replacement == orphan_position
    move_price(chain, "ETH-USD", Decimal("0.97"))
    delegate(chain, idle, summary["self_delegated"][0])
    chain.client.rpc("anvil_mine", hex(5))

    runs = deployment_index(deployment=deployment)

    assert all(run.error == "" for run in runs)
    # Every checkpoint sat on the orphaned head; only three contracts had events there.
    assert all(run.rollbacks for run in runs)
    removed = {run.label: run.orphaned_events for run in runs if run.orphaned_events}
    assert removed == {"Governance token": 5, "Perpetual market": 1, "Price feed ETH-USD": 2}
    for model in INDEXED:
        assert not model.objects.filter(block_hash__in=orphaned).exists(), model.__name__
    assert Position.objects.get(external_id=f"chain:31337:{replacement}").size < 0
    assert_db_matches_chain(chain, deployment)


@pytest.mark.django_db
def test_reorg_without_new_events_moves_the_checkpoint_back(demo_chain, deployment):
    chain = demo_chain
    deployment_index(deployment=deployment)
    fork = chain.client.rpc("evm_snapshot")
    move_price(chain, "SOL-USD", Decimal("1.01"))
    contract_index(role="price_feed")
    chain.client.rpc("evm_revert", fork)  # the head is now below the checkpoint

    runs = contract_index(role="price_feed")

    sol = next(run for run in runs if run.label.endswith("SOL-USD"))
    assert sol.rollbacks and sol.orphaned_events == 2
    assert IndexerCheckpoint.objects.get(market_symbol="SOL-USD").block_number == chain.client.block_number
    assert_db_matches_chain(chain, deployment)


@pytest.mark.django_db
def test_duplicate_delivery_changes_nothing(demo_chain, deployment):
    deployment_index(deployment=deployment)
    before = table_contents()
    start = IndexerCheckpoint.objects.values_list("block_number", "block_hash").first()
    delivered = {cp.pk: (cp.block_number, cp.block_hash, cp.events_indexed) for cp in IndexerCheckpoint.objects.all()}

    # Deliver every range a second time.
    IndexerCheckpoint.objects.update(block_number=deployment.deployment_block - 1, block_hash=start and "")
    runs = deployment_index(deployment=deployment)

    assert sum(run.events for run in runs) == ChainEvent.objects.count()
    after = table_contents()
    del before["IndexerCheckpoint"], after["IndexerCheckpoint"]
    assert after == before
    for cp in IndexerCheckpoint.objects.all():
        assert (cp.block_number, cp.block_hash) == delivered[cp.pk][:2]


@pytest.mark.django_db
def test_range_size_does_not_change_the_result(demo_chain, deployment):
    deployment_index(deployment=deployment)
    before = table_contents()
    for model in INDEXED:
        model.objects.all().delete()
    IndexerCheckpoint.objects.update(block_number=deployment.deployment_block - 1, block_hash="")

    deployment_index(deployment=deployment, config=IndexerConfig(block_range=13))

    after = table_contents()
    for name in ("IndexerCheckpoint", "Position"):
        del before[name], after[name]
    assert {name: len(rows) for name, rows in after.items()} == {name: len(rows) for name, rows in before.items()}
    assert after["PriceObservation"] == before["PriceObservation"]
    assert after["VotingPowerCheckpoint"] != []
    assert_db_matches_chain(demo_chain, deployment)


def dead_client(sleeps: list[float]) -> ChainClient:
    provider = RetryingHTTPProvider(
        f"http://127.0.0.1:{free_port()}",
        timeout=1.0,
        retry=RetryPolicy(attempts=3, base_delay=0.01),
        sleep=sleeps.append,
    )
    return ChainClient(Web3(provider), chain_id=31337)


@pytest.mark.django_db
def test_rpc_down_retries_records_the_error_and_keeps_the_checkpoint(demo_chain, deployment):
    sleeps: list[float] = []
    before = IndexerCheckpoint.objects.get(role="perp_market")

    runs = contract_index(role="perp_market", client=dead_client(sleeps))

    assert sleeps == [0.01, 0.02]  # two retries with backoff, then give up
    assert "ChainUnavailable" in runs[0].error and "after 3 attempts" in runs[0].error
    after = IndexerCheckpoint.objects.get(role="perp_market")
    assert (after.block_number, after.block_hash) == (before.block_number, before.block_hash)
    assert "ChainUnavailable" in after.last_error and after.last_error_at is not None
    assert not ChainEvent.objects.exists() and not Position.objects.exists()


@pytest.mark.django_db
def test_unreachable_configured_node_is_recorded_on_every_contract(demo_chain, deployment, settings):
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"

    runs = contract_index(role="price_feed")

    assert len(runs) == 3 and all("ChainUnavailable" in run.error for run in runs)
    assert IndexerCheckpoint.objects.filter(role="price_feed").exclude(last_error="").count() == 3


class NodeGoesDown(RetryingHTTPProvider):
    """Works until its ``after_logs``-th ``eth_getLogs`` answer, then the node is gone."""

    def __init__(self, url: str, *, after_logs: int) -> None:
        super().__init__(url, timeout=1.0, retry=RetryPolicy(attempts=2, base_delay=0.01), sleep=lambda _: None)
        self.after_logs = after_logs
        self.logs_read = 0

    def make_request(self, method, params):
        response = super().make_request(method, params)
        if method == "eth_getLogs":
            self.logs_read += 1
            if self.logs_read == self.after_logs:
                self.endpoint_uri = URI(f"http://127.0.0.1:{free_port()}")
        return response


@pytest.mark.django_db
def test_failure_mid_range_keeps_the_ranges_before_it(demo_chain, deployment):
    client = ChainClient(Web3(NodeGoesDown(demo_chain.node.url, after_logs=2)), chain_id=31337)
    start = deployment.deployment_block - 1

    runs = contract_index(role="gov_token", client=client, config=IndexerConfig(block_range=20))

    # Range 1 committed; range 2 read its logs, then the node went away before the range finished.
    assert runs[0].ranges == 1 and "ChainUnavailable" in runs[0].error
    checkpoint = IndexerCheckpoint.objects.get(role="gov_token")
    assert checkpoint.block_number == start + 20
    assert checkpoint.block_hash == demo_chain.client.w3.eth.get_block(start + 20)["hash"].to_0x_hex()
    assert not ChainEvent.objects.filter(block_number__gt=start + 20).exists()
    assert ChainEvent.objects.filter(block_number__lte=start + 20).count() == checkpoint.events_indexed > 0

    contract_index(role="gov_token")  # the node is back: the next run carries on
    assert IndexerCheckpoint.objects.get(role="gov_token").last_error == ""


@pytest.mark.django_db(transaction=True)
def test_a_run_skips_a_contract_another_run_holds(demo_chain, committed_deployment):
    checkpoint = IndexerCheckpoint.objects.get(role="registry")
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        try:
            with transaction.atomic():
                IndexerCheckpoint.objects.select_for_update().get(pk=checkpoint.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder_thread = threading.Thread(target=hold_lock)
    holder_thread.start()
    assert locked.wait(10)
    try:
        runs = contract_index(role="registry")
    finally:
        release.set()
        holder_thread.join()

    assert runs[0].skipped and runs[0].events == 0
    assert IndexerCheckpoint.objects.get(pk=checkpoint.pk).block_number == checkpoint.block_number
    assert contract_index(role="registry")[0].events == 4  # ownership + three markets
