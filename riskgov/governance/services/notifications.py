"""Governance notifications: subscribe (double opt-in by e-mail, signed webhooks), emit events exactly once, send.

Events are derived from what is recorded on a proposal (created, voting window, state, queued/executed/vetoed/
canceled times), so emitting is idempotent: `notifications_emit` inserts one NotificationDelivery per
(event, proposal, subscriber) — the unique key refuses a second — and sends only the rows it inserted. The
governance tick calls it every pass and proposal actions ask for it on commit; running it twice sends nothing
twice. A subscriber receives events that happened after it was confirmed, never older ones.

The "voting ends in 24 h" reminder goes to confirmed e-mail subscribers who linked a wallet address (they were
signed in with it, by SIWE or through their account's StaffAddress, when subscribing), who had voting power
at the proposal's snapshot and have not voted.

Sending goes through the one outbox (riskgov.core.services.outbox): e-mail through Django's mail backend with
an unsubscribe link (and List-Unsubscribe headers), webhooks as signed JSON POSTs; retries with backoff are the
task's (riskgov.governance_notification_deliver).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from eth_utils import to_checksum_address

from chain.errors import ChainError
from riskgov.core import dispatch
from riskgov.core.links import site_base_url
from riskgov.core.models import AuditAction
from riskgov.core.services.audit import audit_record
from riskgov.core.services.outbox import (
    DeliveryRefused,
    TransientDeliveryError,
    outbox_delivery_send,
    outbox_email_send,
    outbox_webhook_post,
)
from riskgov.governance.domain.state import FINAL_STATES
from riskgov.governance.errors import GovernanceError
from riskgov.governance.models import (
    NotificationDelivery,
    NotificationEvent,
    NotificationSubscriber,
    Proposal,
    ProposalState,
    SubscriberChannel,
    Vote,
)
from riskgov.governance.selectors import chain_reads

logger = logging.getLogger(__name__)

DELIVER_TASK = "riskgov.governance_notification_deliver"
EMIT_TASK = "riskgov.governance_notifications_emit"
CONFIRM_SALT = "riskgov.governance.notifications.confirm"
UNSUBSCRIBE_SALT = "riskgov.governance.notifications.unsubscribe"
DEFAULT_CONFIRM_MAX_AGE_SECONDS = 3 * 24 * 3600
REMINDER_BEFORE_END = timedelta(hours=24)
# Final proposals are still looked at for this long, so an event recorded just before the pass is not missed.
RECENT_FINAL = timedelta(days=7)
USER_AGENT = "RiskGov-Governance-Notifications/1"

RESULT_EVENTS = {
    ProposalState.SUCCEEDED: NotificationEvent.PROPOSAL_SUCCEEDED,
    ProposalState.QUEUED: NotificationEvent.PROPOSAL_SUCCEEDED,
    ProposalState.EXECUTED: NotificationEvent.PROPOSAL_SUCCEEDED,
    ProposalState.VETOED: NotificationEvent.PROPOSAL_SUCCEEDED,
    ProposalState.EXPIRED: NotificationEvent.PROPOSAL_SUCCEEDED,
    ProposalState.DEFEATED: NotificationEvent.PROPOSAL_DEFEATED,
}


class SubscriptionRejected(GovernanceError):
    """A subscription request was refused; `field` names the input to blame."""


# ------------------------------------------------------------------ tokens


def confirm_token(subscriber: NotificationSubscriber) -> str:
    return signing.dumps({"id": subscriber.pk, "target": subscriber.target}, salt=CONFIRM_SALT)


def unsubscribe_token(subscriber: NotificationSubscriber) -> str:
    return signing.dumps({"id": subscriber.pk, "target": subscriber.target}, salt=UNSUBSCRIBE_SALT)


def _subscriber_from(token: str, *, salt: str, max_age: int | None) -> NotificationSubscriber | None:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:  # also SignatureExpired
        return None
    subscriber = NotificationSubscriber.objects.filter(pk=data.get("id")).first()
    if subscriber is None or subscriber.target != data.get("target"):
        return None
    return subscriber


def subscriber_by_unsubscribe_token(*, token: str) -> NotificationSubscriber | None:
    """The subscriber an unsubscribe (or webhook management) link is for; None when the link is not valid."""
    return _subscriber_from(token, salt=UNSUBSCRIBE_SALT, max_age=None)


def unsubscribe_url(subscriber: NotificationSubscriber) -> str:
    return site_base_url() + reverse("governance:notifications-unsubscribe", args=[unsubscribe_token(subscriber)])


# ------------------------------------------------------------------ subscribing


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    allowed = {event.value for event in NotificationEvent if event != NotificationEvent.SUBSCRIPTION_CONFIRM}
    unknown = [event for event in chosen if event not in allowed]
    if unknown:
        raise SubscriptionRejected("invalid_events", f"Unknown event: {', '.join(unknown)}.", field="events")
    if not chosen:
        raise SubscriptionRejected("invalid_events", "Choose at least one event.", field="events")
    return chosen


def _allow_private() -> bool:
    return bool(getattr(settings, "RISKGOV_NOTIFICATION_WEBHOOK_ALLOW_PRIVATE", False))


def _blocked_addresses(url: str) -> list[str]:
    """The addresses `url`'s host resolves to that are not public (loopback, private, link-local, reserved).

    Raises socket.gaierror (or UnicodeError) when the host does not resolve.
    """
    parts = urllib.parse.urlsplit(url)
    infos = socket.getaddrinfo(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return sorted(str(address) for address in addresses if not address.is_global)


def webhook_url_check(url: str) -> str:
    """`url` if it is an http(s) URL whose host resolves only to public addresses; SubscriptionRejected if not.

    RISKGOV_NOTIFICATION_WEBHOOK_ALLOW_PRIVATE (local use, tests) also allows loopback and private networks.
    """
    url = url.strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as error:
        raise SubscriptionRejected("invalid_url", "Enter an http:// or https:// URL.", field="url") from error
    if _allow_private():
        return url
    try:
        blocked = _blocked_addresses(url)
    except (OSError, UnicodeError) as error:
        host = urllib.parse.urlsplit(url).hostname
        raise SubscriptionRejected("invalid_url", f"The host {host} does not resolve.", field="url") from error
    if blocked:
        raise SubscriptionRejected(
            "invalid_url",
            f"The URL points at a private or loopback address ({', '.join(blocked)}); only public hosts take webhooks.",
            field="url",
        )
    return url


def notification_email_subscribe(
    *, email: str, events: Iterable[str], address: str | None, created_by: str
) -> NotificationSubscriber:
    """Subscribe `email` to `events`, pending until the link of the confirmation mail is opened.

    Subscribing an address already subscribed updates its events (and sends the confirmation again while it
    is pending); the confirmation mail goes through the outbox. `address` is the signed-in wallet, if any.
    """
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as error:
        raise SubscriptionRejected("invalid_email", "Enter a valid e-mail address.", field="email") from error
    chosen = _clean_events(events)
    linked = to_checksum_address(address) if address else ""
    with transaction.atomic():
        subscriber = (
            NotificationSubscriber.objects.select_for_update()
            .filter(channel=SubscriberChannel.EMAIL, email=email, unsubscribed_at__isnull=True)
            .first()
        )
        if subscriber is None:
            try:
                with transaction.atomic():
                    subscriber = NotificationSubscriber.objects.create(
                        channel=SubscriberChannel.EMAIL,
                        email=email,
                        events=chosen,
                        address=linked,
                        created_by=created_by,
                    )
            except IntegrityError as error:  # the same address subscribed concurrently
                raise SubscriptionRejected(
                    "already_subscribed", "This address was just subscribed; check its inbox.", field="email"
                ) from error
        else:
            subscriber.events = chosen
            subscriber.address = linked or subscriber.address
            subscriber.save(update_fields=["events", "address"])
        audit_record(
            action=AuditAction.NOTIFICATION_SUBSCRIBED,
            subject=subscriber,
            actor=created_by,
            data={"channel": "email", "email": email, "events": chosen, "address": linked},
        )
        if subscriber.confirmed_at is None:
            confirmation = NotificationDelivery.objects.create(
                subscriber=subscriber, event=NotificationEvent.SUBSCRIPTION_CONFIRM
            )
            dispatch.send_on_commit(DELIVER_TASK, delivery_id=confirmation.pk)
    return subscriber


@dataclass(frozen=True)
class WebhookSubscribed:
    subscriber: NotificationSubscriber
    secret: str  # shown once
    manage_url: str


def notification_webhook_subscribe(*, url: str, events: Iterable[str], created_by: str) -> WebhookSubscribed:
    """Register a webhook for `events`; its signing secret is returned here and never shown again."""
    checked = webhook_url_check(url)
    chosen = _clean_events(events)
    secret = secrets.token_hex(32)
    with transaction.atomic():
        subscriber = NotificationSubscriber.objects.create(
            channel=SubscriberChannel.WEBHOOK,
            url=checked,
            secret=secret,
            events=chosen,
            confirmed_at=timezone.now(),
            created_by=created_by,
        )
        audit_record(
            action=AuditAction.NOTIFICATION_SUBSCRIBED,
            subject=subscriber,
            actor=created_by,
            data={"channel": "webhook", "url": checked, "events": chosen},
        )
    return WebhookSubscribed(subscriber=subscriber, secret=secret, manage_url=unsubscribe_url(subscriber))


def notification_subscription_confirm(*, token: str) -> NotificationSubscriber | None:
    """Confirm the subscriber of a confirmation link (signed, expiring); None when the link is not valid."""
    max_age = int(getattr(settings, "RISKGOV_NOTIFICATION_CONFIRM_MAX_AGE_SECONDS", DEFAULT_CONFIRM_MAX_AGE_SECONDS))
    subscriber = _subscriber_from(token, salt=CONFIRM_SALT, max_age=max_age)
    if subscriber is None or subscriber.unsubscribed_at is not None:
        return None
    with transaction.atomic():
        updated = NotificationSubscriber.objects.filter(pk=subscriber.pk, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now()
        )
        if updated:
            audit_record(
                action=AuditAction.NOTIFICATION_CONFIRMED,
                subject=subscriber,
                actor=f"confirm-link:{subscriber.target}",
                data={"channel": subscriber.channel},
            )
    subscriber.refresh_from_db()
    return subscriber


def notification_unsubscribe(*, subscriber: NotificationSubscriber, actor: str) -> NotificationSubscriber:
    """Stop every further delivery to `subscriber`; what was sent stays recorded."""
    with transaction.atomic():
        updated = NotificationSubscriber.objects.filter(pk=subscriber.pk, unsubscribed_at__isnull=True).update(
            unsubscribed_at=timezone.now()
        )
        if updated:
            audit_record(
                action=AuditAction.NOTIFICATION_UNSUBSCRIBED,
                subject=subscriber,
                actor=actor,
                data={"channel": subscriber.channel, "target": subscriber.target},
            )
    subscriber.refresh_from_db()
    return subscriber


# ------------------------------------------------------------------ emitting


def proposal_events(proposal: Proposal, now: datetime) -> list[tuple[str, datetime]]:
    """The events (but the reminder) that have happened to `proposal` by `now`, with when they happened."""
    events: list[tuple[str, datetime]] = [(NotificationEvent.PROPOSAL_CREATED, proposal.created_at)]
    canceled_before_start = proposal.canceled_at is not None and proposal.canceled_at <= proposal.voting_starts_at
    if now >= proposal.voting_starts_at and not canceled_before_start:
        events.append((NotificationEvent.VOTING_STARTED, proposal.voting_starts_at))
    result = RESULT_EVENTS.get(ProposalState(proposal.state))
    if result is not None:
        events.append((result, proposal.voting_ends_at))
    for event, at in (
        (NotificationEvent.PROPOSAL_QUEUED, proposal.queued_at),
        (NotificationEvent.PROPOSAL_EXECUTED, proposal.executed_at),
        (NotificationEvent.PROPOSAL_VETOED, proposal.vetoed_at),
        (NotificationEvent.PROPOSAL_CANCELED, proposal.canceled_at),
    ):
        if at is not None:
            events.append((event, at))
    return events


def _subscribers_for(event: str, *, confirmed_by: datetime) -> list[int]:
    return list(
        NotificationSubscriber.objects.filter(
            confirmed_at__isnull=False,
            confirmed_at__lte=confirmed_by,
            unsubscribed_at__isnull=True,
            events__contains=[event],
        ).values_list("pk", flat=True)
    )


def _reminder_subscribers(proposal: Proposal, now: datetime) -> list[int]:
    """E-mail subscribers with a linked wallet that had power at the snapshot and has not voted on `proposal`."""
    if proposal.state != ProposalState.ACTIVE or not (
        proposal.voting_ends_at - REMINDER_BEFORE_END <= now < proposal.voting_ends_at
    ):
        return []
    linked = dict(
        NotificationSubscriber.objects.filter(
            channel=SubscriberChannel.EMAIL,
            confirmed_at__lte=now,
            unsubscribed_at__isnull=True,
            events__contains=[NotificationEvent.VOTING_ENDS_SOON],
        )
        .exclude(address="")
        .values_list("pk", "address")
    )
    if not linked:
        return []
    voted = {voter.lower() for voter in Vote.objects.filter(proposal=proposal).values_list("voter", flat=True)}
    waiting = {pk: address for pk, address in linked.items() if address.lower() not in voted}
    try:
        powers = chain_reads.voting_powers_at(waiting.values(), proposal.snapshot_block)
    except (ChainError, ObjectDoesNotExist):  # the snapshot cannot be read now: the next pass tries again
        logger.warning("voting power at block %s unavailable; reminders postponed", proposal.snapshot_block)
        return []
    return [pk for pk, address in waiting.items() if powers.get(address, 0) > 0]


def _deliveries_add(proposal: Proposal, event: str, subscriber_ids: list[int]) -> list[int]:
    """Insert the missing deliveries of `event`; the ids of those this call inserted."""
    if not subscriber_ids:
        return []
    existing = set(
        NotificationDelivery.objects.filter(
            proposal=proposal, event=event, subscriber_id__in=subscriber_ids
        ).values_list("subscriber_id", flat=True)
    )
    missing = [pk for pk in subscriber_ids if pk not in existing]
    if not missing:
        return []
    NotificationDelivery.objects.bulk_create(
        [NotificationDelivery(proposal=proposal, event=event, subscriber_id=pk) for pk in missing],
        ignore_conflicts=True,  # a concurrent pass inserted some: the unique key keeps one
    )
    return list(
        NotificationDelivery.objects.filter(
            proposal=proposal, event=event, subscriber_id__in=missing, attempts=0
        ).values_list("pk", flat=True)
    )


def notifications_emit(*, proposal_ids: Iterable[int] | None = None, now: datetime | None = None) -> list[int]:
    """Create and send the deliveries of every event that happened and was not yet delivered; their ids.

    Without `proposal_ids`: every open proposal and those final within RECENT_FINAL.
    """
    now = now or timezone.now()
    proposals = Proposal.objects.all()
    if proposal_ids is not None:
        proposals = proposals.filter(pk__in=list(proposal_ids))
    else:
        proposals = proposals.filter(~Q(state__in=FINAL_STATES) | Q(state_changed_at__gte=now - RECENT_FINAL))
    sent: list[int] = []
    for proposal in proposals.order_by("pk"):
        with transaction.atomic():
            for event, happened_at in proposal_events(proposal, now):
                sent += _deliveries_add(proposal, event, _subscribers_for(event, confirmed_by=happened_at))
            sent += _deliveries_add(proposal, NotificationEvent.VOTING_ENDS_SOON, _reminder_subscribers(proposal, now))
    for delivery_id in sent:
        dispatch.send_on_commit(DELIVER_TASK, delivery_id=delivery_id)
    return sent


# ------------------------------------------------------------------ sending


def notification_payload(delivery: NotificationDelivery) -> dict[str, Any]:
    """The webhook body (before the delivery id is added): the event and the proposal as it is now."""
    proposal = delivery.proposal
    body: dict[str, Any] = {"event": delivery.event}
    if proposal is not None:
        body["proposal"] = {
            "id": proposal.pk,
            "title": proposal.title,
            "state": proposal.state,
            "proposer": proposal.proposer,
            "voting_starts_at": proposal.voting_starts_at.isoformat(),
            "voting_ends_at": proposal.voting_ends_at.isoformat(),
            "url": site_base_url() + reverse("governance:proposal-detail", args=[proposal.pk]),
        }
    return body


def notification_email_build(delivery: NotificationDelivery) -> EmailMultiAlternatives:
    subscriber = delivery.subscriber
    leave = unsubscribe_url(subscriber)
    context: dict[str, Any] = {
        "event": NotificationEvent(delivery.event),
        "proposal": delivery.proposal,
        "unsubscribe_url": leave,
        "events": [NotificationEvent(event).label for event in subscriber.events],
    }
    if delivery.event == NotificationEvent.SUBSCRIPTION_CONFIRM:
        context["confirm_url"] = site_base_url() + reverse(
            "governance:notifications-confirm", args=[confirm_token(subscriber)]
        )
        subject = "[RiskGov] Confirm your governance notifications"
    elif delivery.proposal is not None:
        context["proposal_url"] = site_base_url() + reverse("governance:proposal-detail", args=[delivery.proposal.pk])
        subject = f"[RiskGov] {context['event'].label}: #{delivery.proposal.pk} {delivery.proposal.title}"
    else:
        raise DeliveryRefused(f"a {delivery.event} notification without its proposal")
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("email/governance_notification.txt", context),
        to=[subscriber.email],
        headers={"List-Unsubscribe": f"<{leave}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.attach_alternative(render_to_string("email/governance_notification.html", context), "text/html")
    return message


def _notification_send(delivery: NotificationDelivery) -> int | None:
    """The outbox channel of governance notifications."""
    subscriber = delivery.subscriber
    if subscriber.unsubscribed_at is not None:
        raise DeliveryRefused("the subscriber unsubscribed")
    if delivery.event != NotificationEvent.SUBSCRIPTION_CONFIRM and subscriber.confirmed_at is None:
        raise DeliveryRefused("the subscriber has not confirmed")
    if subscriber.channel == SubscriberChannel.EMAIL:
        outbox_email_send(notification_email_build(delivery))
        return None
    if not _allow_private():  # checked again at each send: the host may resolve elsewhere since subscribing
        try:
            blocked = _blocked_addresses(subscriber.url)
        except (OSError, UnicodeError) as error:
            raise TransientDeliveryError(f"the webhook host does not resolve: {error}") from error
        if blocked:
            raise DeliveryRefused(f"the webhook host resolves to a private address ({', '.join(blocked)})")
    return outbox_webhook_post(
        url=subscriber.url,
        payload=notification_payload(delivery),
        secret=subscriber.secret,
        delivery_id=delivery.pk,
        user_agent=USER_AGENT,
    )


def notification_delivery_send(*, delivery_id: int, final_attempt: bool = False) -> NotificationDelivery:
    """One attempt at a notification; a transient failure is recorded and raised for the task to retry."""
    return outbox_delivery_send(
        deliveries=NotificationDelivery.objects.select_related("subscriber", "proposal"),
        delivery_id=delivery_id,
        channel=_notification_send,
        final_attempt=final_attempt,
    )
