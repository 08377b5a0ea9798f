from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("reports", "0005_stress_table")]
    operations = []
