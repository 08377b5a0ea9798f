"""The outbox: one row per notification to one target (an e-mail address or a webhook), and its attempts.

Every app that notifies people (alerts, exposure reports) subclasses OutboxDelivery; the one door that sends
a delivery and records each attempt is `riskgov.core.services.outbox.outbox_delivery_send`.
"""

from __future__ import annotations

from django.db import models


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Failed (retrying)"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    GAVE_UP = "gave_up", "Failed (gave up)"


# An attempt may start only from these; sent, failed (refused by the target) and gave up are final.
OUTBOX_OPEN_STATES = (OutboxStatus.PENDING, OutboxStatus.RETRYING)


class OutboxDelivery(models.Model):
    """Status and attempt bookkeeping of one delivery; subclasses add what is sent and to whom.

    `claimed_until` is the lease of the attempt in progress: set when an attempt claims the row, cleared
    when it records its outcome. An attempt whose worker died leaves it to expire, then the next one claims.
    """

    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    response_code = models.PositiveIntegerField(
        null=True, blank=True, help_text="The target's reply to the last attempt: HTTP status, SMTP reply code."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="An attempt in progress holds the delivery until then."
    )

    class Meta:
        abstract = True

    @property
    def is_final(self) -> bool:
        return self.status not in OUTBOX_OPEN_STATES
