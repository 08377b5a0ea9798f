from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0005_recommendation_coverage_preview")]
    operations = []
