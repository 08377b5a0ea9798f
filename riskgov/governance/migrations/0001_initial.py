"""The governance tables, taken over from the `riskgov` schema history (migrations 0001–0009) as they are.

The tables already exist and keep their `riskgov_*` names: this only records them in the migration state
under their new app."""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import riskgov.markets.models.accounts

STATE_OPERATIONS = [
    migrations.CreateModel(
        name="GovernanceSettings",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            (
                "proposal_threshold",
                models.DecimalField(
                    decimal_places=0,
                    default=Decimal("1000000000000000000000"),
                    help_text="Voting power (token wei) needed to create a proposal.",
                    max_digits=78,
                ),
            ),
            (
                "voting_delay_seconds",
                models.PositiveIntegerField(default=60, help_text="Seconds between creation and the start of voting."),
            ),
            (
                "voting_period_seconds",
                models.PositiveIntegerField(
                    default=259200,
                    help_text="Seconds voting stays open.",
                    validators=[django.core.validators.MinValueValidator(1)],
                ),
            ),
            (
                "quorum_fraction",
                models.DecimalField(
                    decimal_places=8,
                    default=Decimal("0.04"),
                    help_text="Share of the total supply at the snapshot that For + Abstain must reach (0.04 = 4 %).",
                    max_digits=12,
                    validators=[
                        django.core.validators.MinValueValidator(Decimal("0")),
                        django.core.validators.MaxValueValidator(Decimal("1")),
                    ],
                ),
            ),
            (
                "timelock_seconds",
                models.PositiveIntegerField(
                    default=172800, help_text="Seconds between queueing and the earliest execution."
                ),
            ),
            (
                "grace_period_seconds",
                models.PositiveIntegerField(
                    default=1209600,
                    help_text="Seconds after the timelock within which a queued proposal must execute, else it expires.",
                    validators=[django.core.validators.MinValueValidator(1)],
                ),
            ),
            (
                "guardian_address",
                models.CharField(
                    blank=True,
                    help_text="May veto queued proposals.",
                    max_length=42,
                    validators=[riskgov.markets.models.accounts.validate_address],
                ),
            ),
            ("updated_at", models.DateTimeField(auto_now=True)),
        ],
        options={
            "verbose_name": "governance settings",
            "verbose_name_plural": "governance settings",
            "db_table": "riskgov_governancesettings",
            "constraints": [
                models.CheckConstraint(condition=models.Q(("pk", 1)), name="governance_settings_singleton")
            ],
        },
    ),
    migrations.CreateModel(
        name="Proposal",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("title", models.CharField(max_length=200)),
            ("description", models.TextField(help_text="Markdown source.")),
            ("description_html", models.TextField(help_text="Sanitised HTML rendered from the description.")),
            (
                "proposer",
                models.CharField(
                    db_index=True, max_length=42, validators=[riskgov.markets.models.accounts.validate_address]
                ),
            ),
            ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ("chain_id", models.PositiveBigIntegerField()),
            (
                "verifying_contract",
                models.CharField(max_length=42, validators=[riskgov.markets.models.accounts.validate_address]),
            ),
            ("snapshot_block", models.PositiveBigIntegerField()),
            (
                "total_supply",
                models.DecimalField(
                    decimal_places=0, help_text="Total supply at the snapshot block (token wei).", max_digits=78
                ),
            ),
            (
                "proposer_power",
                models.DecimalField(
                    decimal_places=0, help_text="Proposer's voting power at creation (token wei).", max_digits=78
                ),
            ),
            ("proposal_threshold", models.DecimalField(decimal_places=0, max_digits=78)),
            ("quorum_fraction", models.DecimalField(decimal_places=8, max_digits=12)),
            ("voting_delay_seconds", models.PositiveIntegerField()),
            ("voting_period_seconds", models.PositiveIntegerField()),
            ("timelock_seconds", models.PositiveIntegerField()),
            ("grace_period_seconds", models.PositiveIntegerField()),
            ("guardian_address", models.CharField(blank=True, max_length=42)),
            ("voting_starts_at", models.DateTimeField()),
            ("voting_ends_at", models.DateTimeField()),
            ("for_votes", models.DecimalField(decimal_places=0, default=Decimal("0"), max_digits=78)),
            ("against_votes", models.DecimalField(decimal_places=0, default=Decimal("0"), max_digits=78)),
            ("abstain_votes", models.DecimalField(decimal_places=0, default=Decimal("0"), max_digits=78)),
            ("vote_count", models.PositiveIntegerField(default=0)),
            (
                "state",
                models.CharField(
                    choices=[
                        ("pending", "Pending"),
                        ("active", "Active"),
                        ("canceled", "Canceled"),
                        ("defeated", "Defeated"),
                        ("succeeded", "Succeeded"),
                        ("queued", "Queued"),
                        ("vetoed", "Vetoed"),
                        ("expired", "Expired"),
                        ("executed", "Executed"),
                    ],
                    default="pending",
                    help_text="Last persisted state; the derived state is authoritative.",
                    max_length=16,
                ),
            ),
            ("state_changed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ("canceled_at", models.DateTimeField(blank=True, null=True)),
            ("queued_at", models.DateTimeField(blank=True, null=True)),
            ("vetoed_at", models.DateTimeField(blank=True, null=True)),
            ("vetoed_by", models.CharField(blank=True, max_length=150)),
            ("veto_reason", models.TextField(blank=True)),
            ("executed_at", models.DateTimeField(blank=True, null=True)),
            ("execution_attempts", models.PositiveIntegerField(default=0)),
            ("execution_error", models.TextField(blank=True)),
            ("last_execution_attempt_at", models.DateTimeField(blank=True, null=True)),
            ("impact", models.JSONField(blank=True, default=dict)),
            ("impact_computed_at", models.DateTimeField(blank=True, null=True)),
            ("coverage_error", models.TextField(blank=True)),
            (
                "coverage_current",
                models.ForeignKey(
                    blank=True,
                    null=True,
                    on_delete=django.db.models.deletion.SET_NULL,
                    related_name="+",
                    to="insurance.coveragerun",
                ),
            ),
            (
                "coverage_proposed",
                models.ForeignKey(
                    blank=True,
                    null=True,
                    on_delete=django.db.models.deletion.SET_NULL,
                    related_name="+",
                    to="insurance.coveragerun",
                ),
            ),
        ],
        options={
            "db_table": "riskgov_proposal",
            "ordering": ["-pk"],
        },
    ),
    migrations.CreateModel(
        name="ParameterChange",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            (
                "field",
                models.CharField(
                    choices=[
                        ("imr", "imr"),
                        ("mmr", "mmr"),
                        ("max_leverage", "max_leverage"),
                        ("liquidation_penalty", "liquidation_penalty"),
                        ("insurance_fee_share", "insurance_fee_share"),
                        ("oi_cap", "oi_cap"),
                        ("size_margin_base", "size_margin_base"),
                        ("size_margin_slope", "size_margin_slope"),
                    ],
                    max_length=32,
                ),
            ),
            ("old_value", models.DecimalField(blank=True, decimal_places=18, max_digits=38, null=True)),
            ("new_value", models.DecimalField(blank=True, decimal_places=18, max_digits=38, null=True)),
            (
                "market",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT, related_name="proposed_changes", to="markets.market"
                ),
            ),
            (
                "proposal",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="changes", to="governance.proposal"
                ),
            ),
        ],
        options={
            "db_table": "riskgov_parameterchange",
            "ordering": ["market__symbol", "field"],
        },
    ),
    migrations.CreateModel(
        name="ProposalExecution",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            (
                "registry_values",
                models.JSONField(
                    default=dict, help_text="Target setParameters arguments as decimal strings of 1e18 integers."
                ),
            ),
            ("tx_hash", models.CharField(blank=True, max_length=66)),
            ("block_number", models.PositiveBigIntegerField(blank=True, null=True)),
            ("registry_version", models.PositiveBigIntegerField(blank=True, null=True)),
            ("pushed_at", models.DateTimeField(blank=True, null=True)),
            (
                "market",
                models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="markets.market"),
            ),
            (
                "parameters",
                models.OneToOneField(
                    blank=True,
                    null=True,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="execution",
                    to="markets.marginparameters",
                ),
            ),
            (
                "proposal",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="executions", to="governance.proposal"
                ),
            ),
        ],
        options={
            "db_table": "riskgov_proposalexecution",
            "ordering": ["proposal", "market__symbol"],
        },
    ),
    migrations.CreateModel(
        name="SiweNonce",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("value", models.CharField(max_length=64, unique=True)),
            ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ("expires_at", models.DateTimeField()),
            ("used_at", models.DateTimeField(blank=True, null=True)),
        ],
        options={
            "db_table": "riskgov_siwenonce",
            "indexes": [models.Index(fields=["expires_at"], name="siwe_nonce_expiry_idx")],
        },
    ),
    migrations.CreateModel(
        name="StaffAddress",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            (
                "address",
                models.CharField(
                    max_length=42, unique=True, validators=[riskgov.markets.models.accounts.validate_address]
                ),
            ),
            (
                "user",
                models.OneToOneField(
                    on_delete=django.db.models.deletion.CASCADE, related_name="eth_address", to=settings.AUTH_USER_MODEL
                ),
            ),
        ],
        options={
            "verbose_name": "staff address",
            "verbose_name_plural": "staff addresses",
            "db_table": "riskgov_staffaddress",
        },
    ),
    migrations.CreateModel(
        name="Vote",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("voter", models.CharField(max_length=42, validators=[riskgov.markets.models.accounts.validate_address])),
            ("support", models.PositiveSmallIntegerField(choices=[(0, "Against"), (1, "For"), (2, "Abstain")])),
            (
                "weight",
                models.DecimalField(
                    decimal_places=0, help_text="Voting power at the snapshot block (token wei).", max_digits=78
                ),
            ),
            ("nonce", models.PositiveBigIntegerField(help_text="The voter's number of previously accepted votes.")),
            ("signature", models.CharField(help_text="0x-hex signature of the typed-data ballot.", max_length=1024)),
            ("reason", models.TextField(blank=True, help_text="Free text from the voter; not signed.")),
            (
                "submitted_by",
                models.CharField(blank=True, help_text="Signed-in relayer, if not the voter.", max_length=42),
            ),
            ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            (
                "proposal",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="votes", to="governance.proposal"
                ),
            ),
        ],
        options={
            "db_table": "riskgov_vote",
            "ordering": ["proposal", "created_at", "pk"],
        },
    ),
    migrations.AddIndex(
        model_name="proposal",
        index=models.Index(fields=["state", "voting_ends_at"], name="proposal_state_end_idx"),
    ),
    migrations.AddConstraint(
        model_name="proposal",
        constraint=models.CheckConstraint(
            condition=models.Q(("voting_ends_at__gt", models.F("voting_starts_at"))), name="proposal_window_order"
        ),
    ),
    migrations.AddConstraint(
        model_name="parameterchange",
        constraint=models.UniqueConstraint(fields=("proposal", "market", "field"), name="change_unique_field"),
    ),
    migrations.AddConstraint(
        model_name="proposalexecution",
        constraint=models.UniqueConstraint(fields=("proposal", "market"), name="execution_unique_market"),
    ),
    migrations.AddConstraint(
        model_name="vote",
        constraint=models.UniqueConstraint(fields=("proposal", "voter"), name="vote_once_per_proposal"),
    ),
    migrations.AddConstraint(
        model_name="vote",
        constraint=models.UniqueConstraint(fields=("voter", "nonce"), name="vote_nonce_unique"),
    ),
]


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("riskgov", "0009_monitoring_schedules"),
        ("insurance", "0002_schedules"),
        ("markets", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=STATE_OPERATIONS),
    ]
