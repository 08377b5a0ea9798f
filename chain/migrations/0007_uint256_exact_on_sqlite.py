# 256-bit integers keep every digit on SQLite (fixed-width TEXT); PostgreSQL keeps its NUMERIC(78, 0) columns.

from django.db import migrations

import riskgov.core.models.uint256
from riskgov.core.models.uint256 import sqlite_reencode_operation


class Migration(migrations.Migration):
    dependencies = [
        ("chain", "0006_liquidations"),
    ]

    operations = [
        migrations.AlterField(
            model_name="governorproposal",
            name="proposal_id",
            field=riskgov.core.models.uint256.Uint256Field(db_index=True),
        ),
        migrations.AlterField(
            model_name="governorproposalevent",
            name="proposal_id",
            field=riskgov.core.models.uint256.Uint256Field(db_index=True),
        ),
        migrations.AlterField(
            model_name="governorvote",
            name="proposal_id",
            field=riskgov.core.models.uint256.Uint256Field(),
        ),
        migrations.AlterField(
            model_name="governorvote",
            name="weight",
            field=riskgov.core.models.uint256.Uint256Field(),
        ),
        migrations.AlterField(
            model_name="timelockevent",
            name="value",
            field=riskgov.core.models.uint256.Uint256Field(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="tokensupplycheckpoint",
            name="delta",
            field=riskgov.core.models.uint256.Int256Field(help_text="Minted (>0) or burnt (<0), wei."),
        ),
        migrations.AlterField(
            model_name="tokensupplycheckpoint",
            name="total_supply",
            field=riskgov.core.models.uint256.Uint256Field(),
        ),
        migrations.AlterField(
            model_name="tokentransfer",
            name="amount",
            field=riskgov.core.models.uint256.Uint256Field(),
        ),
        migrations.AlterField(
            model_name="votingpowercheckpoint",
            name="previous_votes",
            field=riskgov.core.models.uint256.Uint256Field(),
        ),
        migrations.AlterField(
            model_name="votingpowercheckpoint",
            name="votes",
            field=riskgov.core.models.uint256.Uint256Field(),
        ),
        sqlite_reencode_operation(
            "chain",
            [
                ("governorproposal", "proposal_id"),
                ("governorproposalevent", "proposal_id"),
                ("governorvote", "proposal_id"),
                ("governorvote", "weight"),
                ("timelockevent", "value"),
                ("tokensupplycheckpoint", "delta"),
                ("tokensupplycheckpoint", "total_supply"),
                ("tokentransfer", "amount"),
                ("votingpowercheckpoint", "previous_votes"),
                ("votingpowercheckpoint", "votes"),
            ],
        ),
    ]
