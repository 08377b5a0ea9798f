"""RegistryUpdate.market now points at markets.Market: the same table, so only the migration state changes."""

import django.db.models.deletion
from django.db import migrations, models

STATE_OPERATIONS = [
    migrations.AlterField(
        model_name="registryupdate",
        name="market",
        field=models.ForeignKey(
            on_delete=django.db.models.deletion.CASCADE, related_name="registry_updates", to="markets.market"
        ),
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("chain", "0003_registry_update_market_cascade"),
        ("markets", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=STATE_OPERATIONS),
    ]
