"""Governance notifications: double opt-in by e-mail, signed webhooks, each event once per subscriber, unsubscribe.

The unit tests drive the pages with the test client, the periodic tick and the delivery task (run in-process);
the integration test sends the deliveries on a real Celery worker to a webhook receiver in this process that
fails once, and checks each signature with its own HMAC computation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from riskgov.core.models import OutboxStatus
from riskgov.governance.models import (
    NotificationDelivery,
    NotificationEvent,
    NotificationSubscriber,
    Proposal,
    SubscriberChannel,
)
from riskgov.governance.services.notifications import confirm_token
from riskgov.governance.services.proposals import proposal_cancel, proposal_veto
from riskgov.governance.services.tick import governance_tick_run
from riskgov.governance.tasks import governance_notification_deliver
from tests.governance.conftest import ACTIVE_AT, T0, WAD, make_proposal, signed

SUBSCRIBE = "governance:notifications"
ALL_EVENTS = [e.value for e in NotificationEvent if e != NotificationEvent.SUBSCRIPTION_CONFIRM]
BEFORE = T0 - timedelta(hours=1)


def _sign_in(client: Client, address: str) -> None:
    session = client.session
    session["siwe_address"] = address
    session.save()


def _subscribe_email(client: Client, email: str, events: list[str] | None = None) -> Any:
    return client.post(
        reverse(SUBSCRIBE), {"channel": "email", "email-email": email, "email-events": events or ALL_EVENTS}
    )


def _deliver_open(**filters: Any) -> list[NotificationDelivery]:
    """What the worker does with every delivery task sent: one attempt each."""
    rows = list(NotificationDelivery.objects.filter(status=OutboxStatus.PENDING, **filters).order_by("pk"))
    for row in rows:
        governance_notification_deliver.apply(kwargs={"delivery_id": row.pk})
    return rows


def _link(body: str, name: str) -> str:
    prefix = reverse(name, args=["TOKEN"]).split("TOKEN")[0]
    match = re.search(re.escape(prefix) + r"([^/\s\"<>]+)/", body)
    assert match, f"no {name} link in:\n{body}"
    return reverse(name, args=[match.group(1)])


# ------------------------------------------------------------------ bad input names its field


def test_a_bad_email_url_or_event_choice_is_refused_naming_the_field(db, client: Client, holders, settings) -> None:
    response = _subscribe_email(client, "not-an-address")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="email"' in html and "Enter a valid email address." in html

    response = _subscribe_email(client, "a@example.org", events=["no_such_event"])
    assert response.status_code == 400 and 'data-field="events"' in response.content.decode()

    # a webhook needs a signed-in caller
    response = client.post(reverse(SUBSCRIBE), {"channel": "webhook", "webhook-url": "https://example.org/hook",
                                                 "webhook-events": ["proposal_created"]})  # fmt: skip
    assert response.status_code == 403 and "Sign in" in response.content.decode()

    _sign_in(client, holders[0].address)
    settings.RISKGOV_NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = False
    for url, reason in [
        ("ftp://example.org/hook", "Enter an http:// or https:// URL."),
        ("not a url", "Enter an http:// or https:// URL."),
        ("http://127.0.0.1:8000/hook", "private or loopback address (127.0.0.1)"),
        ("http://10.1.2.3/hook", "private or loopback address (10.1.2.3)"),
    ]:
        response = client.post(
            reverse(SUBSCRIBE), {"channel": "webhook", "webhook-url": url, "webhook-events": ["proposal_created"]}
        )
        html = response.content.decode()
        assert response.status_code == 400, url
        assert 'data-field="url"' in html and reason in html, url
    assert not NotificationSubscriber.objects.exists()


def test_subscribing_is_rate_limited_per_address_with_a_429(db, client: Client, settings) -> None:
    settings.RATELIMIT_CACHE_PREFIX = f"rl-{uuid.uuid4().hex}:"  # counters no earlier run shares
    settings.RISKGOV_RATE_LIMITS = {"subscribe": {"ip": "100/m", "subject": "2/m"}}
    assert _subscribe_email(client, "busy@example.org").status_code == 200
    assert _subscribe_email(client, "busy@example.org").status_code == 200
    refused = _subscribe_email(client, "busy@example.org")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert _subscribe_email(client, "other@example.org").status_code == 200
    # one pending subscriber; two confirmation mails, not three
    subscriber = NotificationSubscriber.objects.get(email="busy@example.org")
    assert subscriber.deliveries.count() == 2


def test_a_webhook_host_that_now_resolves_to_a_private_address_is_refused_at_send_time(
    client: Client, chain, holders, gov_settings, market, settings
) -> None:
    with time_machine.travel(BEFORE, tick=False):
        _sign_in(client, holders[0].address)
        created = client.post(
            reverse(SUBSCRIBE),
            {"channel": "webhook", "webhook-url": "http://127.0.0.1:9/hook", "webhook-events": ["proposal_created"]},
        )
    assert created.status_code == 201  # allowed while the setting is on
    settings.RISKGOV_NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = False
    make_proposal(chain, holders[0], now=T0)
    with time_machine.travel(T0 + timedelta(seconds=1), tick=False):
        governance_tick_run()
        (delivery,) = _deliver_open()
    delivery.refresh_from_db()
    assert delivery.status == OutboxStatus.FAILED and "private address (127.0.0.1)" in delivery.last_error


# ------------------------------------------------------------------ double opt-in, exactly once, unsubscribe


def test_email_double_opt_in_then_each_event_exactly_once_then_unsubscribe(
    client: Client, chain, holders, gov_settings, market
) -> None:
    with time_machine.travel(BEFORE, tick=False):
        response = _subscribe_email(client, "Voter@Example.org")
        assert response.status_code == 200 and "Check your inbox" in response.content.decode()
        subscriber = NotificationSubscriber.objects.get()
        assert subscriber.email == "voter@example.org" and subscriber.confirmed_at is None
        _deliver_open()
    assert len(mail.outbox) == 1
    confirmation = mail.outbox[0]
    assert confirmation.to == ["voter@example.org"] and "Confirm" in confirmation.subject
    confirm_path = _link(confirmation.body, "governance:notifications-confirm")
    assert _link(confirmation.body, "governance:notifications-unsubscribe")

    # unconfirmed: a new proposal and its voting start reach nobody
    first = make_proposal(chain, holders[0], now=T0)
    with time_machine.travel(ACTIVE_AT, tick=False):
        governance_tick_run()
    assert not NotificationDelivery.objects.exclude(event=NotificationEvent.SUBSCRIPTION_CONFIRM).exists()

    # confirmed from the link: later events arrive, once each however often the tick runs
    with time_machine.travel(ACTIVE_AT, tick=False):
        page = client.get(confirm_path)
    assert page.status_code == 200 and "Subscription confirmed" in page.content.decode()
    second = make_proposal(chain, holders[1], now=ACTIVE_AT + timedelta(seconds=1), mmr="0.036")
    at = ACTIVE_AT + timedelta(seconds=90)
    with time_machine.travel(at, tick=False):
        assert len(governance_tick_run(now=at)["notified"]) == 2
        assert governance_tick_run(now=at)["notified"] == []
    rows = NotificationDelivery.objects.filter(proposal=second).order_by("event")
    assert [r.event for r in rows] == [NotificationEvent.PROPOSAL_CREATED, NotificationEvent.VOTING_STARTED]
    assert not NotificationDelivery.objects.filter(proposal=first).exists()  # before the confirmation
    mail.outbox.clear()
    _deliver_open()
    _deliver_open()
    assert sorted(m.subject for m in mail.outbox) == [
        f"[RiskGov] New proposal: #{second.pk} {second.title}",
        f"[RiskGov] Voting started: #{second.pk} {second.title}",
    ]
    assert all(r.status == OutboxStatus.SENT for r in rows.all())
    message = mail.outbox[0]
    unsubscribe_path = _link(message.body, "governance:notifications-unsubscribe")
    assert message.extra_headers["List-Unsubscribe"].endswith(unsubscribe_path + ">")

    # the guardian cancels: the proposal's actions emit too (sent by name, here run in-process)
    with time_machine.travel(at, tick=False):
        proposal_cancel(proposal_id=second.pk, actor="guardian", now=at, as_guardian=True)
        governance_tick_run(now=at)
    assert NotificationDelivery.objects.filter(proposal=second, event=NotificationEvent.PROPOSAL_CANCELED).count() == 1

    # one click on the link (no sign-in): nothing more, not even what was already queued
    anonymous = Client()
    assert "Unsubscribe" in anonymous.get(unsubscribe_path).content.decode()
    done = anonymous.post(unsubscribe_path)
    assert done.status_code == 200 and "no longer receives" in done.content.decode()
    mail.outbox.clear()
    canceled = _deliver_open()
    assert [r.event for r in canceled] == [NotificationEvent.PROPOSAL_CANCELED]
    canceled[0].refresh_from_db()
    assert canceled[0].status == OutboxStatus.FAILED and "unsubscribed" in canceled[0].last_error
    third = make_proposal(chain, holders[2], now=at + timedelta(seconds=1), mmr="0.037")
    with time_machine.travel(at + timedelta(seconds=2), tick=False):
        governance_tick_run()
    assert not NotificationDelivery.objects.filter(proposal=third).exists() and mail.outbox == []


def test_results_queue_and_veto_reach_a_subscriber_once_each(
    client: Client, chain, holders, gov_settings, market
) -> None:
    with time_machine.travel(BEFORE, tick=False):
        _subscribe_email(client, "watcher@example.org")
        subscriber = NotificationSubscriber.objects.get()
        assert (
            client.get(reverse("governance:notifications-confirm", args=[confirm_token(subscriber)])).status_code == 200
        )
    passing = make_proposal(chain, holders[0], now=T0)  # the proposer's 50,000 votes reach the 4 % quorum
    failing = make_proposal(chain, holders[1], now=T0, mmr="0.036")  # nobody votes: defeated
    with time_machine.travel(ACTIVE_AT, tick=False):
        response = client.post(
            reverse("governance:api-votes", args=[passing.pk]), signed(passing.pk, 1, holders[0]),
            content_type="application/json",
        )  # fmt: skip
    assert response.status_code == 201, response.content
    end = T0 + timedelta(seconds=60 + 3600 + 5)
    with time_machine.travel(end, tick=False):
        governance_tick_run()
        governance_tick_run()
        proposal_veto(proposal_id=passing.pk, guardian="guardian", reason="Unsafe.", now=end, as_guardian=True)
        governance_tick_run()
    sent = sorted(NotificationDelivery.objects.filter(subscriber=subscriber).exclude(proposal=None)
                  .values_list("proposal_id", "event"))  # fmt: skip
    assert sent == sorted([
        (passing.pk, NotificationEvent.PROPOSAL_CREATED), (passing.pk, NotificationEvent.VOTING_STARTED),
        (passing.pk, NotificationEvent.PROPOSAL_SUCCEEDED), (passing.pk, NotificationEvent.PROPOSAL_QUEUED),
        (passing.pk, NotificationEvent.PROPOSAL_VETOED),
        (failing.pk, NotificationEvent.PROPOSAL_CREATED), (failing.pk, NotificationEvent.VOTING_STARTED),
        (failing.pk, NotificationEvent.PROPOSAL_DEFEATED),
    ])  # fmt: skip
    mail.outbox.clear()
    _deliver_open(proposal__isnull=False)
    subjects = {m.subject for m in mail.outbox}
    assert len(mail.outbox) == 8 and f"[RiskGov] Vetoed: #{passing.pk} {passing.title}" in subjects
    vetoed = next(m for m in mail.outbox if m.subject.startswith("[RiskGov] Vetoed"))
    assert "Veto reason: Unsafe." in vetoed.body


def test_a_confirmation_link_expires_and_a_tampered_one_is_refused(db, client: Client) -> None:
    with time_machine.travel(BEFORE, tick=False):
        _subscribe_email(client, "late@example.org")
    subscriber = NotificationSubscriber.objects.get()
    with time_machine.travel(BEFORE, tick=False):
        token = confirm_token(subscriber)
    path = reverse("governance:notifications-confirm", args=[token])
    with time_machine.travel(BEFORE + timedelta(days=4), tick=False):
        assert client.get(path).status_code == 404
    assert client.get(reverse("governance:notifications-confirm", args=[token[:-2] + "xx"])).status_code == 404
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is None


def test_the_reminder_goes_only_to_linked_holders_who_have_not_voted(
    client: Client, chain, holders, gov_settings, market
) -> None:
    voter, idle, powerless = holders[1], holders[2], holders[3]
    chain.powers[voter.address] = chain.powers[idle.address] = 10_000 * WAD
    with time_machine.travel(BEFORE, tick=False):
        for account, email in [(voter, "voter@example.org"), (idle, "idle@example.org"), (powerless, "p@example.org")]:
            browser = Client()
            _sign_in(browser, account.address)
            assert _subscribe_email(browser, email, [NotificationEvent.VOTING_ENDS_SOON]).status_code == 200
        _subscribe_email(client, "nowallet@example.org", [NotificationEvent.VOTING_ENDS_SOON])
        for subscriber in NotificationSubscriber.objects.all():
            client.get(reverse("governance:notifications-confirm", args=[confirm_token(subscriber)]))
    assert NotificationSubscriber.objects.filter(confirmed_at__isnull=False).count() == 4
    proposal = make_proposal(chain, holders[0], now=T0)
    with time_machine.travel(ACTIVE_AT, tick=False):
        response = client.post(
            reverse("governance:api-votes", args=[proposal.pk]),
            signed(proposal.pk, 1, voter),
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        governance_tick_run()
        governance_tick_run()
    reminded = NotificationDelivery.objects.filter(event=NotificationEvent.VOTING_ENDS_SOON)
    assert [d.subscriber.email for d in reminded] == ["idle@example.org"]
    mail.outbox.clear()
    _deliver_open(event=NotificationEvent.VOTING_ENDS_SOON)
    assert len(mail.outbox) == 1 and "has not voted" in mail.outbox[0].body


# ------------------------------------------------------------------ on a real worker: signed webhooks, retried


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    fail_first: int

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        failing = len(self.received) < self.fail_first
        self.received.append(
            {
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
                "answered": 500 if failing else 200,
            }
        )
        self.send_response(500 if failing else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Receiver", (_Receiver,), {"received": received, "fail_first": 1})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/riskgov", received
    server.shutdown()
    server.server_close()


def _wait_until(condition: Any, what: str, limit: float = 150.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.5)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_worker_sends_each_event_once_signed_and_retries_a_failed_webhook(
    celery_worker_process: Any, receiver, chain, holders, gov_settings, market, settings
) -> None:
    url, received = receiver
    settings.RISKGOV_NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = True  # the receiver listens on loopback
    gov_settings.voting_delay_seconds = 0  # voting starts when the proposal is created
    gov_settings.save()
    owner = Client()
    owner.force_login(get_user_model().objects.create_user("integrator"))
    events = [NotificationEvent.PROPOSAL_CREATED, NotificationEvent.VOTING_STARTED]
    created = owner.post(reverse(SUBSCRIBE), {"channel": "webhook", "webhook-url": url, "webhook-events": events})
    assert created.status_code == 201
    html = created.content.decode()
    secret = re.search(r'<pre class="mono" id="webhook-secret">([0-9a-f]{64})</pre>', html).group(1)
    manage_path = _link(html, "governance:notifications-unsubscribe")

    anonymous = Client()
    _subscribe_email(anonymous, "confirmed@example.org", events)
    _subscribe_email(anonymous, "pending@example.org", events)
    confirmed = NotificationSubscriber.objects.get(email="confirmed@example.org")
    anonymous.get(reverse("governance:notifications-confirm", args=[confirm_token(confirmed)]))

    proposal: Proposal = make_proposal(chain, holders[0], now=timezone.now())
    # the tick here and the emit task its state change sends to the worker race: the unique key keeps one each
    governance_tick_run()
    assert governance_tick_run()["notified"] == []
    deliveries = NotificationDelivery.objects.filter(proposal=proposal)
    assert deliveries.count() == 4  # 2 events × (the webhook, the confirmed e-mail); none to the pending one
    _wait_until(lambda: deliveries.filter(status=OutboxStatus.SENT).count() == 4, "the four notifications")
    _wait_until(
        lambda: (
            NotificationDelivery.objects.filter(
                event=NotificationEvent.SUBSCRIPTION_CONFIRM, status=OutboxStatus.SENT
            ).count()
            == 2
        ),
        "the two confirmation mails",
    )
    assert governance_tick_run()["notified"] == []
    time.sleep(2)  # nothing else may arrive

    webhook = NotificationSubscriber.objects.get(channel=SubscriberChannel.WEBHOOK)
    assert not deliveries.filter(subscriber__email="pending@example.org").exists()
    assert received[0]["answered"] == 500  # the first attempt failed and was retried
    assert sorted(r["answered"] for r in received) == [200, 200, 500]
    by_delivery: dict[str, list[dict[str, Any]]] = {}
    for request in received:
        headers = request["headers"]
        timestamp, body = headers["x-riskgov-timestamp"], request["body"]
        expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert headers["x-riskgov-signature"] == f"sha256={expected}"
        assert abs(time.time() - int(timestamp)) < 600
        payload = json.loads(body)
        assert payload["proposal"]["id"] == proposal.pk and str(payload["delivery"]) == headers["x-riskgov-delivery"]
        by_delivery.setdefault(headers["x-riskgov-delivery"], []).append(request)
    ok = {d: [r["answered"] for r in reqs].count(200) for d, reqs in by_delivery.items()}
    assert ok == {str(d.pk): 1 for d in deliveries.filter(subscriber=webhook)}  # each delivered exactly once
    assert sorted(json.loads(reqs[-1]["body"])["event"] for reqs in by_delivery.values()) == sorted(events)
    retried = deliveries.get(subscriber=webhook, attempts=2)
    assert retried.response_code == 200 and retried.last_error == ""

    # the management link removes the webhook without signing in
    assert Client().post(manage_path).status_code == 200
    webhook.refresh_from_db()
    assert webhook.unsubscribed_at is not None
