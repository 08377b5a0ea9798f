import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("governance", "0008_onchain_pages"), ("markets", "0007_risk_budget")]

    operations = [
        migrations.CreateModel(
            name="ProposalChangeRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "change_request",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="proposal_link",
                        to="markets.parameterchangerequest",
                    ),
                ),
                (
                    "proposal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="change_requests",
                        to="governance.proposal",
                    ),
                ),
            ],
            options={"ordering": ["proposal", "-created_at", "-pk"]},
        ),
    ]
