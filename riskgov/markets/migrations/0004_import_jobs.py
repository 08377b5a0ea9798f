from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("markets", "0003_snapshot_health"),
    ]

    operations: list[migrations.operations.base.Operation] = []
