from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("markets", "0005_loss_waterfall")]
    operations = []
