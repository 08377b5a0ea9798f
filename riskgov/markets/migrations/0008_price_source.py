from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("markets", "0007_risk_budget")]
    operations = []
