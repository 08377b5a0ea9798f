import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("chain", "0004_registry_update_market_in_markets_app")]
    operations = [
        migrations.AddField(
            model_name="chaindeployment",
            name="governance_mode",
            field=models.CharField(
                choices=[
                    ("offchain", "Off-chain (app tally, executor key)"),
                    ("onchain", "On-chain (Governor and timelock)"),
                ],
                default="offchain",
                help_text="On-chain: a RiskGovernor and its timelock (which owns the registry) settle proposals.",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="chaindeployment",
            name="governor",
            field=models.CharField(blank=True, help_text="RiskGovernor (on-chain mode), else empty.", max_length=42),
        ),
        migrations.AddField(
            model_name="chaindeployment",
            name="governor_config",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="The Governor's settings at deployment (blocks, wei, quorum of 10000).",
            ),
        ),
        migrations.AddField(
            model_name="chaindeployment",
            name="timelock",
            field=models.CharField(blank=True, help_text="RiskTimelock owning the registry (on-chain).", max_length=42),
        ),
        migrations.AlterField(
            model_name="indexercheckpoint",
            name="role",
            field=models.CharField(
                choices=[
                    ("gov_token", "Governance token"),
                    ("registry", "Parameter registry"),
                    ("perp_market", "Perpetual market"),
                    ("price_feed", "Price feed"),
                    ("governor", "Governor"),
                    ("timelock", "Timelock"),
                ],
                max_length=16,
            ),
        ),
        migrations.CreateModel(
            name="GovernorProposal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("block_number", models.BigIntegerField()),
                ("block_hash", models.CharField(max_length=66)),
                ("tx_hash", models.CharField(max_length=66)),
                ("log_index", models.PositiveIntegerField()),
                ("proposal_id", models.DecimalField(db_index=True, decimal_places=0, max_digits=78)),
                ("proposer", models.CharField(max_length=42)),
                ("targets", models.JSONField(default=list)),
                ("values", models.JSONField(default=list)),
                ("calldatas", models.JSONField(default=list)),
                ("description", models.TextField()),
                (
                    "vote_start",
                    models.PositiveBigIntegerField(help_text="Snapshot block: votes count as of this block."),
                ),
                (
                    "vote_end",
                    models.PositiveBigIntegerField(help_text="Last block of voting before any late-quorum extension."),
                ),
                (
                    "checkpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="chain.indexercheckpoint"
                    ),
                ),
            ],
            options={
                "ordering": ["block_number", "log_index"],
                "abstract": False,
                "indexes": [models.Index(fields=["checkpoint", "block_number"], name="gov_proposal_block_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("tx_hash", "log_index"), name="chain_governorproposal_unique_log")
                ],
            },
        ),
        migrations.CreateModel(
            name="GovernorProposalEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("block_number", models.BigIntegerField()),
                ("block_hash", models.CharField(max_length=66)),
                ("tx_hash", models.CharField(max_length=66)),
                ("log_index", models.PositiveIntegerField()),
                ("proposal_id", models.DecimalField(db_index=True, decimal_places=0, max_digits=78)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("executed", "Executed"),
                            ("canceled", "Canceled"),
                            ("extended", "Deadline extended (late quorum)"),
                        ],
                        max_length=8,
                    ),
                ),
                ("eta", models.PositiveBigIntegerField(blank=True, null=True)),
                ("extended_deadline", models.PositiveBigIntegerField(blank=True, null=True)),
                (
                    "checkpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="chain.indexercheckpoint"
                    ),
                ),
            ],
            options={
                "ordering": ["block_number", "log_index"],
                "abstract": False,
                "indexes": [models.Index(fields=["checkpoint", "block_number"], name="gov_pevent_block_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tx_hash", "log_index"), name="chain_governorproposalevent_unique_log"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="GovernorVote",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("block_number", models.BigIntegerField()),
                ("block_hash", models.CharField(max_length=66)),
                ("tx_hash", models.CharField(max_length=66)),
                ("log_index", models.PositiveIntegerField()),
                ("proposal_id", models.DecimalField(decimal_places=0, max_digits=78)),
                ("voter", models.CharField(max_length=42)),
                ("support", models.PositiveSmallIntegerField(help_text="0 Against, 1 For, 2 Abstain.")),
                ("weight", models.DecimalField(decimal_places=0, max_digits=78)),
                ("reason", models.TextField(blank=True)),
                ("params", models.TextField(blank=True, help_text="0x hex (VoteCastWithParams), else empty.")),
                ("with_params", models.BooleanField(default=False)),
                (
                    "checkpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="chain.indexercheckpoint"
                    ),
                ),
            ],
            options={
                "ordering": ["block_number", "log_index"],
                "abstract": False,
                "indexes": [
                    models.Index(fields=["checkpoint", "block_number"], name="gov_vote_block_idx"),
                    models.Index(fields=["proposal_id", "voter"], name="gov_vote_proposal_idx"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("tx_hash", "log_index"), name="chain_governorvote_unique_log")
                ],
            },
        ),
        migrations.CreateModel(
            name="TimelockEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("block_number", models.BigIntegerField()),
                ("block_hash", models.CharField(max_length=66)),
                ("tx_hash", models.CharField(max_length=66)),
                ("log_index", models.PositiveIntegerField()),
                ("operation_id", models.CharField(db_index=True, max_length=66)),
                (
                    "kind",
                    models.CharField(
                        choices=[("scheduled", "Scheduled"), ("executed", "Executed"), ("cancelled", "Cancelled")],
                        max_length=9,
                    ),
                ),
                ("call_index", models.PositiveIntegerField(blank=True, null=True)),
                ("target", models.CharField(blank=True, max_length=42)),
                ("value", models.DecimalField(blank=True, decimal_places=0, max_digits=78, null=True)),
                ("data", models.TextField(blank=True, help_text="0x hex calldata.")),
                ("predecessor", models.CharField(blank=True, max_length=66)),
                ("delay", models.PositiveBigIntegerField(blank=True, help_text="Seconds (CallScheduled).", null=True)),
                (
                    "checkpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="chain.indexercheckpoint"
                    ),
                ),
            ],
            options={
                "ordering": ["block_number", "log_index"],
                "abstract": False,
                "indexes": [models.Index(fields=["checkpoint", "block_number"], name="timelock_event_block_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("tx_hash", "log_index"), name="chain_timelockevent_unique_log")
                ],
            },
        ),
    ]
