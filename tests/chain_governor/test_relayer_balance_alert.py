"""The "vote relayer balance below" alert rule, evaluated by the regular alert sweep against the node."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chain.anvil import free_port
from riskgov.monitoring.models import Alert, AlertKind, AlertRule, AlertState
from riskgov.monitoring.services.monitoring import alerts_evaluate
from tests.chain.helpers import ONE
from tests.chain_governor.conftest import GovChain

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def node_settings(gov: GovChain, settings: object) -> object:
    settings.CHAIN_RPC_URL = gov.node.url
    settings.CHAIN_ID = gov.node.chain_id
    return settings


def set_balance(gov: GovChain, wei: int) -> None:
    gov.client.rpc("anvil_setBalance", gov.relayer.address, hex(wei))


def test_the_rule_opens_below_the_threshold_and_resolves_once_topped_up(gov: GovChain, node_settings) -> None:
    rule = AlertRule.objects.create(
        name="Relayer gas", kind=AlertKind.RELAYER_BALANCE_BELOW, threshold=Decimal("1.5"), address=gov.relayer.address
    )
    set_balance(gov, ONE)  # 1 ETH < 1.5

    opened = alerts_evaluate()

    (alert,) = Alert.objects.filter(rule=rule)
    assert opened.opened == [alert.pk] and alert.state == AlertState.OPEN
    assert alert.summary == f"Vote relayer {gov.relayer.address} holds 1.0000 ETH (limit 1.5 ETH)"
    assert alert.latest_evidence["balance_wei"] == str(ONE)

    set_balance(gov, 2 * ONE)
    resolved = alerts_evaluate()

    assert resolved.resolved == [alert.pk]
    assert Alert.objects.get(pk=alert.pk).state == AlertState.RESOLVED


def test_without_an_address_the_rule_watches_the_configured_relayer(gov: GovChain, node_settings) -> None:
    node_settings.CHAIN_RELAYER_KEY = gov.relayer.key.hex()
    AlertRule.objects.create(name="Relayer gas", kind=AlertKind.RELAYER_BALANCE_BELOW, threshold=Decimal("0.1"))
    set_balance(gov, ONE // 20)  # 0.05 ETH

    assert len(alerts_evaluate().opened) == 1
    assert Alert.objects.get().latest_evidence["address"] == gov.relayer.address


def test_an_unknown_balance_opens_and_resolves_nothing(gov: GovChain, node_settings) -> None:
    rule = AlertRule.objects.create(
        name="Relayer gas", kind=AlertKind.RELAYER_BALANCE_BELOW, threshold=Decimal("1"), address=gov.relayer.address
    )
    set_balance(gov, 0)
    alerts_evaluate()
    assert Alert.objects.filter(rule=rule, state=AlertState.OPEN).count() == 1

    node_settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"  # nothing answers there
    result = alerts_evaluate()

    assert result.resolved == [] and result.opened == []
    assert Alert.objects.filter(rule=rule, state=AlertState.OPEN).count() == 1
