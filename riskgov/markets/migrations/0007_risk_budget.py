from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("markets", "0006_liquidation_history")]
    operations = []
