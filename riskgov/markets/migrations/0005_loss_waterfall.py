from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("markets", "0004_import_jobs")]
    operations = [
        migrations.AddField(
            model_name="market",
            name="loss_waterfall",
            field=models.CharField(
                choices=[
                    ("socialised", "Socialised loss"),
                    ("adl", "Auto-deleveraging of profitable opposite positions"),
                ],
                default="socialised",
                help_text="After the insurance fund: socialise the shortfall, or close profitable opposite positions "
                "(ranked by profit and leverage) at the bankrupt position's bankruptcy price.",
                max_length=16,
            ),
        ),
    ]
