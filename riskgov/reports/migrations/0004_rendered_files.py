from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_subscription_confirmation"),
    ]

    operations: list[migrations.operations.base.Operation] = []
