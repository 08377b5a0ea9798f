"""Recompute `bankruptcy_price` without integer division (SQLite divided integral collateral by
integral size as integers). A generated column cannot be altered in place, so the index over it
and the column are dropped and re-added; every backend recomputes the stored values."""

import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("markets", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="position", name="position_open_risk_idx"),
        migrations.RemoveField(model_name="position", name="bankruptcy_price"),
        migrations.AddField(
            model_name="position",
            name="bankruptcy_price",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.expressions.CombinedExpression(
                    models.F("entry_price"),
                    "-",
                    django.db.models.expressions.CombinedExpression(
                        django.db.models.expressions.CombinedExpression(
                            models.F("collateral"), "*", models.Value(1.0), output_field=models.FloatField()
                        ),
                        "/",
                        models.F("size"),
                        output_field=models.FloatField(),
                    ),
                    output_field=models.DecimalField(decimal_places=18, max_digits=58),
                ),
                output_field=models.DecimalField(decimal_places=18, max_digits=58),
            ),
        ),
        migrations.AddIndex(
            model_name="position",
            index=models.Index(
                condition=models.Q(("status", "open")),
                fields=["market", "side", "bankruptcy_price"],
                name="position_open_risk_idx",
            ),
        ),
    ]
