from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("insurance", "0006_adl")]
    operations = []
