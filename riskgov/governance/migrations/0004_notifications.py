import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0003_delegation"),
    ]

    operations = [
        migrations.CreateModel(
            name="NotificationSubscriber",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("channel", models.CharField(choices=[("email", "E-mail"), ("webhook", "Webhook")], max_length=8)),
                ("email", models.EmailField(blank=True, max_length=254)),
                ("url", models.URLField(blank=True, max_length=500)),
                (
                    "secret",
                    models.CharField(
                        blank=True,
                        editable=False,
                        help_text="Webhook signing key; shown once, when subscribing.",
                        max_length=64,
                    ),
                ),
                (
                    "address",
                    models.CharField(blank=True, help_text="Wallet linked when subscribing signed in.", max_length=42),
                ),
                (
                    "events",
                    models.JSONField(default=list, help_text="NotificationEvent values this subscriber receives."),
                ),
                ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                ("unsubscribed_at", models.DateTimeField(blank=True, null=True)),
                ("created_by", models.CharField(blank=True, max_length=150)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "db_table": "riskgov_notificationsubscriber",
                "ordering": ["-created_at"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("channel", "email"), ("unsubscribed_at__isnull", True)),
                        fields=("email",),
                        name="notification_subscriber_one_active_email",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("channel", "email"), models.Q(("email", ""), _negated=True)),
                            models.Q(
                                ("channel", "webhook"),
                                models.Q(("url", ""), _negated=True),
                                models.Q(("secret", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="notification_subscriber_has_target",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="NotificationDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("retrying", "Failed (retrying)"),
                            ("sent", "Sent"),
                            ("failed", "Failed"),
                            ("gave_up", "Failed (gave up)"),
                        ],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_error", models.TextField(blank=True, default="")),
                (
                    "response_code",
                    models.PositiveIntegerField(
                        blank=True,
                        help_text="The target's reply to the last attempt: HTTP status, SMTP reply code.",
                        null=True,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("last_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                (
                    "claimed_until",
                    models.DateTimeField(
                        blank=True,
                        editable=False,
                        help_text="An attempt in progress holds the delivery until then.",
                        null=True,
                    ),
                ),
                (
                    "event",
                    models.CharField(
                        choices=[
                            ("proposal_created", "New proposal"),
                            ("voting_started", "Voting started"),
                            (
                                "voting_ends_soon",
                                "Voting ends in 24 h and you have not voted (e-mail with a linked wallet)",
                            ),
                            ("proposal_succeeded", "Result: succeeded"),
                            ("proposal_defeated", "Result: defeated"),
                            ("proposal_queued", "Queued (timelock started)"),
                            ("proposal_executed", "Executed"),
                            ("proposal_vetoed", "Vetoed"),
                            ("proposal_canceled", "Canceled"),
                            ("subscription_confirm", "Subscription confirmation"),
                        ],
                        max_length=24,
                    ),
                ),
                (
                    "proposal",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notification_deliveries",
                        to="governance.proposal",
                    ),
                ),
                (
                    "subscriber",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="governance.notificationsubscriber",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "notification deliveries",
                "db_table": "riskgov_notificationdelivery",
                "ordering": ["-created_at"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("event", "proposal", "subscriber"), name="notification_delivery_once_per_event"
                    )
                ],
            },
        ),
    ]
