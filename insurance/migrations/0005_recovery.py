from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("insurance", "0004_run_idempotency_key"),
    ]

    operations: list[migrations.operations.base.Operation] = []
