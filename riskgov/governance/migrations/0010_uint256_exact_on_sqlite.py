# 256-bit integers keep every digit on SQLite (fixed-width TEXT); PostgreSQL keeps its NUMERIC(78, 0) columns.

from decimal import Decimal

from django.db import migrations

import riskgov.core.models.uint256
from riskgov.core.models.uint256 import sqlite_reencode_operation


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0009_risk_budget"),
    ]

    operations = [
        migrations.AlterField(
            model_name="delegationrelay",
            name="nonce",
            field=riskgov.core.models.uint256.Uint256Field(),
        ),
        migrations.AlterField(
            model_name="governancesettings",
            name="proposal_threshold",
            field=riskgov.core.models.uint256.Uint256Field(
                default=Decimal("1000000000000000000000"),
                help_text="Voting power (token wei) needed to create a proposal.",
            ),
        ),
        migrations.AlterField(
            model_name="proposal",
            name="abstain_votes",
            field=riskgov.core.models.uint256.Uint256Field(default=Decimal("0")),
        ),
        migrations.AlterField(
            model_name="proposal",
            name="against_votes",
            field=riskgov.core.models.uint256.Uint256Field(default=Decimal("0")),
        ),
        migrations.AlterField(
            model_name="proposal",
            name="for_votes",
            field=riskgov.core.models.uint256.Uint256Field(default=Decimal("0")),
        ),
        migrations.AlterField(
            model_name="proposal",
            name="onchain_proposal_id",
            field=riskgov.core.models.uint256.Uint256Field(
                blank=True,
                help_text="The Governor's proposal id (hashProposal of the payload); on-chain mode only.",
                null=True,
                unique=True,
            ),
        ),
        migrations.AlterField(
            model_name="proposal",
            name="proposal_threshold",
            field=riskgov.core.models.uint256.Uint256Field(),
        ),
        migrations.AlterField(
            model_name="proposal",
            name="proposer_power",
            field=riskgov.core.models.uint256.Uint256Field(
                help_text="Proposer's voting power at creation (token wei)."
            ),
        ),
        migrations.AlterField(
            model_name="proposal",
            name="total_supply",
            field=riskgov.core.models.uint256.Uint256Field(help_text="Total supply at the snapshot block (token wei)."),
        ),
        migrations.AlterField(
            model_name="vote",
            name="weight",
            field=riskgov.core.models.uint256.Uint256Field(help_text="Voting power at the snapshot block (token wei)."),
        ),
        sqlite_reencode_operation(
            "governance",
            [
                ("delegationrelay", "nonce"),
                ("governancesettings", "proposal_threshold"),
                ("proposal", "abstain_votes"),
                ("proposal", "against_votes"),
                ("proposal", "for_votes"),
                ("proposal", "onchain_proposal_id"),
                ("proposal", "proposal_threshold"),
                ("proposal", "proposer_power"),
                ("proposal", "total_supply"),
                ("vote", "weight"),
            ],
        ),
    ]
