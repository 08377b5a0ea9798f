from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("insurance", "0003_run_purpose"),
    ]

    operations: list[migrations.operations.base.Operation] = []
