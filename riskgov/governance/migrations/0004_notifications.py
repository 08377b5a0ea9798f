from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0003_delegation"),
    ]

    operations: list[migrations.operations.base.Operation] = []
