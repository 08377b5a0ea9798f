from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0004_notifications"),
    ]

    operations: list[migrations.operations.base.Operation] = []
