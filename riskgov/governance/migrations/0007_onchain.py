from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("governance", "0006_siwe_nonce_purge_schedule")]
    operations = []
