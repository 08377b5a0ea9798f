from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_audit_action_choices_in_code"),
    ]

    operations: list[migrations.operations.base.Operation] = []
