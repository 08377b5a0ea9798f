from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("chain", "0005_governor")]
    operations = []
