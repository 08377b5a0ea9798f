"""Alert deliveries through the outbox: no row lock while sending, one send per delivery, leases, give-up."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal as D
from unittest import mock

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from riskgov.core.services.outbox import DeliveryInProgress
from riskgov.markets.models import PriceObservation
from riskgov.monitoring.models import AlertDelivery, AlertDeliveryStatus, AlertKind, AlertRule
from riskgov.monitoring.services.alert_delivery import alert_delivery_send
from riskgov.monitoring.services.monitoring import alerts_evaluate
from riskgov.monitoring.tasks import DELIVERY_MAX_RETRIES, deliver_alert
from tests.factories import PositionFactory
from tests.monitoring.conftest import make_market


@pytest.fixture
def market():
    market = make_market("OUTB")
    PriceObservation.objects.create(
        market=market, price=D("3000"), source="test", observed_at=timezone.now() - timedelta(minutes=10)
    )
    PositionFactory(market=market, size=D("10"), entry_price=D("3000"), collateral=D("600"))  # 1 % from liquidation
    return market


def alert_delivery(*, recipients: tuple[str, ...] = (), webhook_urls: tuple[str, ...] = ()) -> AlertDelivery:
    AlertRule.objects.create(
        name="Near liquidation",
        kind=AlertKind.NEAR_LIQ_NOTIONAL_ABOVE,
        threshold=D("1"),
        recipients=list(recipients),
        webhook_urls=list(webhook_urls),
        webhook_secret="s3cret",
    )
    alerts_evaluate()
    return AlertDelivery.objects.get()


def lock_from_another_connection(delivery_id: int) -> dict[str, object]:
    """In another thread (its own database connection): lock the row without waiting and write to it."""
    seen: dict[str, object] = {}

    def run() -> None:
        try:
            with transaction.atomic():
                row = AlertDelivery.objects.select_for_update(nowait=True).get(pk=delivery_id)
                AlertDelivery.objects.filter(pk=delivery_id).update(target=row.target)
            seen.update(status=row.status, attempts=row.attempts, leased=row.claimed_until is not None)
        except DatabaseError as error:  # the row is locked by the sending connection
            seen["error"] = str(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    return seen


@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_sent_with_no_row_lock_held(market, receiver):
    seen: dict[str, object] = {}
    sending: list[int] = []  # the delivery's id, known once the hook's URL is in the rule
    hook = receiver([], on_request=lambda: seen.update(lock_from_another_connection(sending[0])))
    delivery = alert_delivery(webhook_urls=(hook.url,))
    sending.append(delivery.pk)
    assert deliver_alert.apply(kwargs={"delivery_id": delivery.pk}).get() == AlertDeliveryStatus.SENT
    # the claim was committed before the POST: another connection saw it and could lock and update the row
    assert seen == {"status": AlertDeliveryStatus.PENDING, "attempts": 1, "leased": True}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (AlertDeliveryStatus.SENT, 1, 200)
    assert delivery.claimed_until is None and delivery.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_an_email_is_sent_with_no_row_lock_held(market):
    delivery = alert_delivery(recipients=("risk@example.org",))
    seen: dict[str, object] = {}
    real_send = EmailMessage.send

    def send_while_checking(message: EmailMessage, *args: object, **kwargs: object) -> int:
        seen.update(lock_from_another_connection(delivery.pk))
        return real_send(message, *args, **kwargs)

    with mock.patch.object(EmailMessage, "send", send_while_checking):
        deliver_alert.apply(kwargs={"delivery_id": delivery.pk}).get()
    assert seen == {"status": AlertDeliveryStatus.PENDING, "attempts": 1, "leased": True}
    assert [m.to for m in mail.outbox] == [["risk@example.org"]]


@pytest.mark.django_db
def test_a_delivery_leased_by_another_attempt_waits_then_is_taken_over(market):
    delivery = alert_delivery(recipients=("risk@example.org",))
    AlertDelivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() + timedelta(minutes=1))
    with pytest.raises(DeliveryInProgress):
        alert_delivery_send(delivery_id=delivery.pk)
    assert mail.outbox == []
    # the attempt holding the lease died: once the lease expires the next attempt sends it, once
    AlertDelivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert alert_delivery_send(delivery_id=delivery.pk).status == AlertDeliveryStatus.SENT
    assert alert_delivery_send(delivery_id=delivery.pk).attempts == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_webhook_that_keeps_failing_is_given_up_on_the_final_attempt(market, receiver):
    hook = receiver([503] * (DELIVERY_MAX_RETRIES + 1))
    delivery = alert_delivery(webhook_urls=(hook.url,))
    assert deliver_alert.apply(kwargs={"delivery_id": delivery.pk}).get() == AlertDeliveryStatus.GAVE_UP
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (
        AlertDeliveryStatus.GAVE_UP,
        DELIVERY_MAX_RETRIES + 1,
        503,
    )
    assert delivery.last_error == "HTTP 503" and delivery.claimed_until is None
    assert len(hook.requests) == DELIVERY_MAX_RETRIES + 1


@pytest.mark.django_db
def test_a_webhook_url_that_is_not_http_is_refused_without_a_request(market):
    delivery = alert_delivery(webhook_urls=("file:///etc/passwd",))
    deliver_alert.apply(kwargs={"delivery_id": delivery.pk}).get()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (AlertDeliveryStatus.FAILED, 1)
    assert "not an http(s) URL" in delivery.last_error


@pytest.mark.django_db
def test_an_unexpected_error_releases_the_delivery_for_the_next_attempt(market):
    delivery = alert_delivery(recipients=("risk@example.org",))
    with (
        mock.patch.object(EmailMessage, "send", side_effect=RuntimeError("template broke")),
        pytest.raises(RuntimeError),
    ):
        alert_delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.claimed_until) == (AlertDeliveryStatus.PENDING, 1, None)
    assert delivery.last_error == "RuntimeError: template broke"
    assert alert_delivery_send(delivery_id=delivery.pk).status == AlertDeliveryStatus.SENT
