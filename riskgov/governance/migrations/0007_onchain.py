import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

STATE_CHOICES = [
    ("pending", "Pending"),
    ("active", "Active"),
    ("canceled", "Canceled"),
    ("defeated", "Defeated"),
    ("succeeded", "Succeeded"),
    ("queued", "Queued"),
    ("vetoed", "Vetoed"),
    ("expired", "Expired"),
    ("executed", "Executed"),
]


class Migration(migrations.Migration):
    dependencies = [("governance", "0006_siwe_nonce_purge_schedule")]
    operations = [
        migrations.AddField(
            model_name="proposal",
            name="governance_mode",
            field=models.CharField(
                choices=[
                    ("offchain", "Off-chain (app tally, executor key)"),
                    ("onchain", "On-chain (Governor and timelock)"),
                ],
                db_index=True,
                default="offchain",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="proposal",
            name="ballot_domain_name",
            field=models.CharField(
                default="RiskGov",
                help_text="EIP-712 domain name of the ballots (the Governor's name on chain).",
                max_length=64,
            ),
        ),
        migrations.AddField(
            model_name="proposal",
            name="ballot_domain_version",
            field=models.CharField(default="1", help_text="EIP-712 domain version.", max_length=16),
        ),
        migrations.AddField(
            model_name="proposal",
            name="onchain_proposal_id",
            field=models.DecimalField(
                blank=True,
                decimal_places=0,
                max_digits=78,
                null=True,
                unique=True,
                help_text="The Governor's proposal id (hashProposal of the payload); on-chain mode only.",
            ),
        ),
        migrations.AddField(
            model_name="proposal",
            name="onchain_payload",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="The propose(targets, values, calldatas, description) arguments as built after the guardrails.",
            ),
        ),
        migrations.AddField(
            model_name="proposal",
            name="propose_tx_hash",
            field=models.CharField(blank=True, help_text="The proposer's propose transaction.", max_length=66),
        ),
        migrations.AddField(
            model_name="proposal",
            name="proposed_onchain_at",
            field=models.DateTimeField(
                blank=True, null=True, help_text="When the Governor's ProposalCreated for this payload was confirmed."
            ),
        ),
        migrations.AddField(
            model_name="proposal",
            name="onchain_state",
            field=models.CharField(
                blank=True,
                choices=STATE_CHOICES,
                max_length=16,
                help_text="The Governor's state() as last read; on-chain proposals take their state from it.",
            ),
        ),
        migrations.AddField(
            model_name="proposal", name="onchain_synced_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="vote",
            name="governor",
            field=models.CharField(
                blank=True,
                max_length=42,
                help_text="The Governor whose nonces the ballot uses (on-chain mode), else empty.",
            ),
        ),
        migrations.RemoveConstraint(model_name="vote", name="vote_nonce_unique"),
        migrations.AddConstraint(
            model_name="vote",
            constraint=models.UniqueConstraint(
                condition=models.Q(("governor", "")), fields=("voter", "nonce"), name="vote_nonce_unique"
            ),
        ),
        migrations.CreateModel(
            name="VoteRelay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting to be relayed"),
                            ("counted", "Counted on chain"),
                            ("already_counted", "Already counted on chain (not resent)"),
                            ("reverted", "Reverted on chain"),
                            ("failed", "Not sent (error)"),
                        ],
                        db_index=True,
                        default="pending",
                        max_length=16,
                    ),
                ),
                (
                    "relayer",
                    models.CharField(blank=True, help_text="The account that paid for the transaction.", max_length=42),
                ),
                ("tx_hash", models.CharField(blank=True, max_length=66)),
                ("block_number", models.PositiveBigIntegerField(blank=True, null=True)),
                (
                    "gas_used",
                    models.PositiveBigIntegerField(blank=True, help_text="Gas of the ballot's transaction.", null=True),
                ),
                (
                    "revert_reason",
                    models.TextField(blank=True, help_text="The decoded revert or the error, when not counted."),
                ),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("relayed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "vote",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="relay", to="governance.vote"
                    ),
                ),
            ],
            options={"ordering": ["vote__proposal", "vote__voter"]},
        ),
    ]
