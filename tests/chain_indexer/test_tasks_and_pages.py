"""The beat task on a real Celery worker, the beat schedule, the status page and the event decoder."""

from __future__ import annotations

import json

import pytest
from django_celery_beat.models import PeriodicTask

from chain.anvil import free_port
from chain.events import EventDecoder
from chain.models import IndexerCheckpoint
from chain.services.indexer import IndexerConfig, deployment_index
from chain.tasks import index_contract
from tests.chain_indexer.compare import assert_db_matches_chain

pytestmark = [pytest.mark.integration]
ROLES = ("gov_token", "registry", "perp_market", "price_feed")


@pytest.mark.django_db
def test_each_role_is_scheduled_every_15_seconds():
    tasks = PeriodicTask.objects.filter(task="chain.index_contract").select_related("interval")
    assert sorted(json.loads(task.kwargs)["role"] for task in tasks) == sorted(ROLES)
    assert {(task.interval.every, task.interval.period, task.enabled) for task in tasks} == {(15, "seconds", True)}


@pytest.mark.django_db(transaction=True)
def test_index_task_runs_on_a_real_worker_and_is_safe_twice(celery_worker_process, demo_chain, committed_deployment):
    # Every role twice at once: overlapping runs skip a locked contract or find nothing left to do.
    results = [index_contract.apply_async(kwargs={"role": role}) for role in ROLES for _ in range(2)]
    outcomes = [result.get(timeout=90) for result in results]

    assert [outcome["errors"] for outcome in outcomes] == [{}] * len(outcomes)
    assert sum(outcome["events"] for outcome in outcomes) > 150
    head = demo_chain.client.block_number
    assert set(IndexerCheckpoint.objects.values_list("block_number", flat=True)) == {head}
    assert_db_matches_chain(demo_chain, committed_deployment)


@pytest.mark.django_db
def test_status_page_shows_checkpoints_lag_errors_and_addresses(client, admin_user, demo_chain, deployment):
    deployment_index(deployment=deployment, config=IndexerConfig(confirmations=2))
    IndexerCheckpoint.objects.filter(role="registry").update(last_error="ChainUnavailable: node restarting")
    client.force_login(admin_user)

    response = client.get("/chain/status/")

    assert response.status_code == 200
    page = response.content.decode()
    for address in (
        deployment.gov_token,
        deployment.registry,
        deployment.perp_market,
        *deployment.price_feeds.values(),
    ):
        assert address in page
    assert "Price feed ETH-USD" in page and "ChainUnavailable: node restarting" in page
    rows = response.context["status"].checkpoints
    assert len(rows) == 6 and {row.lag for row in rows} == {2}


@pytest.mark.django_db
def test_status_page_reports_an_unreachable_node(
    client, admin_user, deployment, settings, django_assert_max_num_queries
):
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"
    client.force_login(admin_user)

    with django_assert_max_num_queries(8):
        response = client.get("/chain/status/")

    assert response.status_code == 200 and "unreachable" in response.content.decode()


@pytest.mark.django_db
def test_status_page_is_for_staff(client):
    response = client.get("/chain/status/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_decoder_agrees_with_web3(demo_chain):
    """The fast decoder gives web3's values for every log of the demo."""
    chain = demo_chain
    contracts = [
        ("GovToken", chain.addresses["gov_token"]),
        ("PerpMarket", chain.addresses["perp_market"]),
        ("RiskParameterRegistry", chain.addresses["registry"]),
        *(("PriceFeed", address) for address in chain.addresses["price_feeds"].values()),
    ]
    checked = 0
    for name, address in contracts:
        contract = chain.contract(name, address)
        raw = chain.client.rpc("eth_getLogs", {"address": address, "fromBlock": "0x0", "toBlock": "latest"})
        ours = {(log.tx_hash, log.log_index): log for log in EventDecoder.for_contract(name).decode_all(raw)}
        theirs_count = 0
        for event in {log.event for log in ours.values()}:
            for theirs in getattr(contract.events, event)().get_logs(from_block=0):
                theirs_count += 1
                mine = ours[(theirs["transactionHash"].to_0x_hex(), theirs["logIndex"])]
                expected = {
                    key: "0x" + value.hex() if isinstance(value, bytes) else value
                    for key, value in theirs["args"].items()
                }
                assert mine.args == expected
                assert mine.block_hash == theirs["blockHash"].to_0x_hex()
                checked += 1
        assert theirs_count == len(ours) == len(raw), name
    assert checked > 150
