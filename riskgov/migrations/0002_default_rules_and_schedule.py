from decimal import Decimal

from django.db import migrations

# field: (min, max, max_abs_change, max_rel_change) — rates are fractions, oi_cap quote notional.
DEFAULT_RULES = {
    "imr": (Decimal("0.005"), Decimal("1"), Decimal("0.02"), Decimal("0.25")),
    "mmr": (Decimal("0.0025"), Decimal("0.5"), Decimal("0.01"), Decimal("0.25")),
    "max_leverage": (Decimal("1"), Decimal("200"), Decimal("25"), Decimal("0.25")),
    "liquidation_penalty": (Decimal("0.0005"), Decimal("0.1"), Decimal("0.005"), Decimal("0.5")),
    "insurance_fee_share": (Decimal("0"), Decimal("1"), Decimal("0.1"), None),
    "oi_cap": (Decimal("0"), None, None, Decimal("0.25")),
    "size_margin_base": (Decimal("0"), None, None, Decimal("0.5")),
    "size_margin_slope": (Decimal("0"), Decimal("0.5"), Decimal("0.01"), None),
}


def create_defaults(apps, schema_editor):
    ParameterRule = apps.get_model("riskgov", "ParameterRule")
    for field, (low, high, abs_change, rel_change) in DEFAULT_RULES.items():
        ParameterRule.objects.get_or_create(
            field=field,
            market=None,
            defaults={"min_value": low, "max_value": high, "max_abs_change": abs_change, "max_rel_change": rel_change},
        )
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="Exposure snapshot",
        defaults={
            "task": "riskgov.exposure_snapshot",
            "interval": every_five,
            "enabled": True,
            "description": "Aggregate open positions into exposure snapshots.",
        },
    )


def remove_defaults(apps, schema_editor):
    apps.get_model("riskgov", "ParameterRule").objects.filter(market=None).delete()
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name="Exposure snapshot").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("riskgov", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_defaults, remove_defaults)]
