from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0002_voter_nonces_and_signed_reasons"),
    ]

    operations: list[migrations.operations.base.Operation] = []
