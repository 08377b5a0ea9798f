"""Governance notifications: who is told (e-mail with double opt-in, signed webhooks) and each notification sent.

A NotificationDelivery is one event of one proposal to one subscriber; the unique key on (event, proposal,
subscriber) is what makes every event reach a subscriber exactly once, however often the tick runs. The
deliveries are outbox rows (riskgov.core.models.outbox): attempts, retries and outcomes are recorded there.
"""

from __future__ import annotations

from django.db import models

from riskgov.core.models.outbox import OutboxDelivery
from riskgov.governance.models.governance import Proposal


class NotificationEvent(models.TextChoices):
    PROPOSAL_CREATED = "proposal_created", "New proposal"
    VOTING_STARTED = "voting_started", "Voting started"
    VOTING_ENDS_SOON = "voting_ends_soon", "Voting ends in 24 h and you have not voted (e-mail with a linked wallet)"
    PROPOSAL_SUCCEEDED = "proposal_succeeded", "Result: succeeded"
    PROPOSAL_DEFEATED = "proposal_defeated", "Result: defeated"
    PROPOSAL_QUEUED = "proposal_queued", "Queued (timelock started)"
    PROPOSAL_EXECUTED = "proposal_executed", "Executed"
    PROPOSAL_VETOED = "proposal_vetoed", "Vetoed"
    PROPOSAL_CANCELED = "proposal_canceled", "Canceled"
    # not chosen by subscribers: the double opt-in mail itself
    SUBSCRIPTION_CONFIRM = "subscription_confirm", "Subscription confirmation"


SUBSCRIBABLE_EVENTS = [event for event in NotificationEvent if event != NotificationEvent.SUBSCRIPTION_CONFIRM]


class SubscriberChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class NotificationSubscriber(models.Model):
    """An e-mail address (confirmed from the mail it receives) or a webhook URL (signed with `secret`).

    `address` is the wallet the subscriber was signed in with when subscribing (SIWE, or the account's
    StaffAddress): the only address whose "you have not voted" reminder an e-mail may receive. Unsubscribing
    keeps the row (and what was sent) and stops every further delivery.
    """

    channel = models.CharField(max_length=8, choices=SubscriberChannel.choices)
    email = models.EmailField(blank=True)
    url = models.URLField(max_length=500, blank=True)
    secret = models.CharField(
        max_length=64, blank=True, editable=False, help_text="Webhook signing key; shown once, when subscribing."
    )
    address = models.CharField(max_length=42, blank=True, help_text="Wallet linked when subscribing signed in.")
    events = models.JSONField(default=list, help_text="NotificationEvent values this subscriber receives.")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "riskgov_notificationsubscriber"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                condition=models.Q(channel="email", unsubscribed_at__isnull=True),
                name="notification_subscriber_one_active_email",
            ),
            models.CheckConstraint(
                condition=(models.Q(channel="email") & ~models.Q(email=""))
                | (models.Q(channel="webhook") & ~models.Q(url="") & ~models.Q(secret="")),
                name="notification_subscriber_has_target",
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.url

    @property
    def target(self) -> str:
        return self.email if self.channel == SubscriberChannel.EMAIL else self.url

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class NotificationDelivery(OutboxDelivery):
    """One event of one proposal to one subscriber (or a subscriber's confirmation mail, without a proposal)."""

    subscriber = models.ForeignKey(NotificationSubscriber, on_delete=models.CASCADE, related_name="deliveries")
    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, null=True, blank=True, related_name="notification_deliveries"
    )
    event = models.CharField(max_length=24, choices=NotificationEvent.choices)

    class Meta:
        db_table = "riskgov_notificationdelivery"
        verbose_name_plural = "notification deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "proposal", "subscriber"], name="notification_delivery_once_per_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.proposal_id} → {self.subscriber} ({self.status})"
