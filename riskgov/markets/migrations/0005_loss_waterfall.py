from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("markets", "0004_import_jobs")]
    operations = []
