from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0006_relayer_balance_rule")]
    operations = []
