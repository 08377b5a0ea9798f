from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("governance", "0008_onchain_pages")]
    operations = []
