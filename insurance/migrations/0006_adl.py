from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("insurance", "0005_recovery")]
    operations = []
