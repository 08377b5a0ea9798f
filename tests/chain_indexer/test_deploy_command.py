"""``manage.py chain_deploy`` on fresh Anvil nodes: deploy, record, index; idempotent; redeploy on reset."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from chain.anvil import AnvilNode, free_port, start_anvil
from chain.client import ChainClient
from chain.models import ChainDeployment, ChainEvent, IndexerCheckpoint
from riskgov.markets.models import Market, Position, PriceObservation

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def fresh_node(indexer_anvil: AnvilNode) -> Iterator[AnvilNode]:  # indexer_anvil: skip/fail without Anvil
    node = start_anvil(accounts=40)
    try:
        yield node
    finally:
        node.stop()


def deploy(url: str, **options: object) -> str:
    out = StringIO()
    call_command("chain_deploy", rpc_url=url, wait=5, stdout=out, **options)
    return out.getvalue()


def test_chain_deploy_demo_is_idempotent_and_redeploys_on_a_reset_node(fresh_node, settings):
    settings.RISKGOV_DEMO_MODE = True
    settings.CHAIN_EXECUTOR_KEY = ""
    client = ChainClient.connect(fresh_node.url, chain_id=31337)

    output = deploy(fresh_node.url, demo=True)

    assert "Deployed on chain 31337" in output and "Demo: 30 holders" in output
    deployment = ChainDeployment.objects.get(is_active=True)
    head = client.block_number
    assert {(m.symbol, m.quote_asset) for m in Market.objects.all()} == {("ETH", "USD"), ("BTC", "USD"), ("SOL", "USD")}
    assert set(IndexerCheckpoint.objects.values_list("block_number", flat=True)) == {head}
    assert Position.objects.filter(external_id__startswith="chain:31337:").count() > 20
    assert PriceObservation.objects.filter(source="chain:ETH-USD").exists()
    events = ChainEvent.objects.count()

    again = deploy(fresh_node.url, demo=True)

    assert "Already deployed on chain 31337" in again and "Indexed 0 events" in again
    assert client.block_number == head
    assert list(ChainDeployment.objects.values_list("pk", flat=True)) == [deployment.pk]
    assert ChainEvent.objects.count() == events

    # A fresh node on the same port: the contracts are gone, so they are deployed again.
    port = fresh_node.port
    fresh_node.stop()
    reset = start_anvil(port=port, accounts=40)
    try:
        output = deploy(reset.url)
        redeployed = ChainDeployment.objects.get()
        reset_head = ChainClient.connect(reset.url, chain_id=31337).block_number
    finally:
        reset.stop()

    assert "Deployed on chain 31337" in output
    assert redeployed.pk != deployment.pk and redeployed.genesis_hash != deployment.genesis_hash
    assert set(IndexerCheckpoint.objects.values_list("block_number", flat=True)) == {reset_head}
    assert not Position.objects.filter(external_id__startswith="chain:31337:").exists()  # no demo this time
    assert not PriceObservation.objects.filter(source="chain:ETH-USD").exclude(round_id="1").exists()


def test_chain_id_mismatch_is_a_clear_error(fresh_node, settings):
    settings.CHAIN_ID = 1

    with pytest.raises(CommandError, match="serves chain 31337, but CHAIN_ID is 1"):
        deploy(fresh_node.url)
    assert not ChainDeployment.objects.exists()


def test_demo_needs_demo_mode(fresh_node, settings):
    settings.RISKGOV_DEMO_MODE = False
    settings.CHAIN_EXECUTOR_KEY = ""

    with pytest.raises(CommandError, match="RISKGOV_DEMO_MODE"):
        deploy(fresh_node.url, demo=True)


def test_deploy_without_an_executor_key_outside_demo_mode(fresh_node, settings):
    settings.RISKGOV_DEMO_MODE = False
    settings.CHAIN_EXECUTOR_KEY = ""

    with pytest.raises(CommandError, match="CHAIN_EXECUTOR_KEY is not set"):
        deploy(fresh_node.url)


def test_deploy_with_an_executor_key_from_the_environment(fresh_node, settings):
    from chain.deploy import dev_accounts

    executor = dev_accounts(1, start=5)[0]
    settings.RISKGOV_DEMO_MODE = False
    settings.CHAIN_EXECUTOR_KEY = executor.key.hex()

    deploy(fresh_node.url)

    deployment = ChainDeployment.objects.get()
    registry = ChainClient.connect(fresh_node.url, chain_id=31337).contract(
        "RiskParameterRegistry", deployment.registry
    )
    assert registry.functions.owner().call() == executor.address


def test_no_node_is_a_clear_error():
    with pytest.raises(CommandError, match=r"no JSON-RPC node answers at http://127\.0\.0\.1:"):
        call_command("chain_deploy", rpc_url=f"http://127.0.0.1:{free_port()}", wait=0.5)


def test_listed_markets_continue_the_stored_prices_and_parameters():
    from datetime import UTC, datetime
    from decimal import Decimal

    from chain.services.deployments import market_specs
    from chain.units import oi_cap_base_units, oi_cap_quote_notional
    from riskgov.core.models.versions import ChangeSource
    from riskgov.markets.models import MarginParameters

    eth = Market.objects.create(symbol="ETH", quote_asset="USD", name="Ether")
    MarginParameters.objects.create(
        market=eth, version=1, imr=Decimal("0.04"), mmr=Decimal("0.02"), max_leverage=Decimal("25"),
        liquidation_penalty=Decimal("0.01"), insurance_fee_share=Decimal("0.3"), oi_cap=Decimal("340000000"),
        source=ChangeSource.GENESIS, reason="test", actor="test",
    )  # fmt: skip
    PriceObservation.objects.create(market=eth, price=Decimal("3400"), observed_at=datetime.now(UTC), source="import")

    specs = {spec.symbol: spec for spec in market_specs()}

    eth_spec = specs["ETH-USD"]
    assert (eth_spec.initial_price, eth_spec.imr, eth_spec.max_leverage) == (Decimal(3400), Decimal("0.04"), 25)
    assert eth_spec.oi_cap == Decimal(100_000) == oi_cap_base_units(Decimal("340000000"), Decimal(3400))
    assert oi_cap_quote_notional(eth_spec.oi_cap, Decimal(3400)) == Decimal("340000000")
    assert specs["BTC-USD"].initial_price == Decimal(60_000)  # nothing stored: the defaults
    assert Market.objects.filter(symbol="BTC", quote_asset="USD").exists()


def test_an_executor_key_that_does_not_own_the_registry_is_refused(fresh_node, settings):
    from chain.deploy import dev_accounts

    owner, stranger = dev_accounts(2, start=5)
    settings.RISKGOV_DEMO_MODE = False
    settings.CHAIN_EXECUTOR_KEY = owner.key.hex()
    deploy(fresh_node.url)
    settings.CHAIN_EXECUTOR_KEY = stranger.key.hex()

    with pytest.raises(CommandError, match=f"is the key of {stranger.address}, but the registry at .* is owned by"):
        deploy(fresh_node.url)
