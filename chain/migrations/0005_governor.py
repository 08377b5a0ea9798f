from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("chain", "0004_registry_update_market_in_markets_app")]
    operations = []
