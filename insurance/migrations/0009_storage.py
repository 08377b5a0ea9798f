from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("insurance", "0008_risk_budget")]
    operations = []
