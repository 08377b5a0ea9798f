from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_report_delivery_outbox"),
    ]

    operations: list[migrations.operations.base.Operation] = []
