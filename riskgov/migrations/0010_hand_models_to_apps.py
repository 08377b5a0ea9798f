"""Hand every model over to the app that now owns it; the tables stay where they are.

Content types (and so permissions and admin log entries) and audit records name their subjects by app
label: both are relabelled from `riskgov.<model>` to `<app>.<model>`, so nothing points at a model that no
longer exists.
"""

from django.db import migrations

STATE_OPERATIONS = [
    migrations.RemoveField(
        model_name="position",
        name="account",
    ),
    migrations.RemoveField(
        model_name="alert",
        name="market",
    ),
    migrations.RemoveField(
        model_name="alert",
        name="rule",
    ),
    migrations.RemoveField(
        model_name="alertdelivery",
        name="alert",
    ),
    migrations.RemoveField(
        model_name="alertrule",
        name="market",
    ),
    migrations.DeleteModel(
        name="AuditRecord",
    ),
    migrations.RemoveField(
        model_name="exposurereport",
        name="schedule",
    ),
    migrations.RemoveField(
        model_name="exposurereport",
        name="snapshot",
    ),
    migrations.RemoveField(
        model_name="reportdelivery",
        name="report",
    ),
    migrations.RemoveField(
        model_name="exposuresnapshot",
        name="market",
    ),
    migrations.DeleteModel(
        name="GovernanceSettings",
    ),
    migrations.RemoveField(
        model_name="marginparameters",
        name="market",
    ),
    migrations.RemoveField(
        model_name="proposalexecution",
        name="parameters",
    ),
    migrations.RemoveField(
        model_name="marginrecommendation",
        name="applied_version",
    ),
    migrations.RemoveField(
        model_name="marginrecommendation",
        name="based_on",
    ),
    migrations.RemoveField(
        model_name="marginpolicy",
        name="market",
    ),
    migrations.RemoveField(
        model_name="marginrecommendation",
        name="policy",
    ),
    migrations.RemoveField(
        model_name="marginrecommendation",
        name="market",
    ),
    migrations.RemoveField(
        model_name="parameterrule",
        name="market",
    ),
    migrations.RemoveField(
        model_name="reportschedule",
        name="markets",
    ),
    migrations.RemoveField(
        model_name="pricefeed",
        name="market",
    ),
    migrations.RemoveField(
        model_name="priceobservation",
        name="market",
    ),
    migrations.RemoveField(
        model_name="parameterchange",
        name="market",
    ),
    migrations.RemoveField(
        model_name="proposalexecution",
        name="market",
    ),
    migrations.RemoveField(
        model_name="position",
        name="market",
    ),
    migrations.RemoveField(
        model_name="parameterchange",
        name="proposal",
    ),
    migrations.RemoveField(
        model_name="proposal",
        name="coverage_current",
    ),
    migrations.RemoveField(
        model_name="proposal",
        name="coverage_proposed",
    ),
    migrations.RemoveField(
        model_name="vote",
        name="proposal",
    ),
    migrations.RemoveField(
        model_name="proposalexecution",
        name="proposal",
    ),
    migrations.RemoveField(
        model_name="reportschedule",
        name="crontab",
    ),
    migrations.RemoveField(
        model_name="reportschedule",
        name="periodic_task",
    ),
    migrations.RemoveField(
        model_name="reportsubscription",
        name="schedule",
    ),
    migrations.DeleteModel(
        name="SiweNonce",
    ),
    migrations.RemoveField(
        model_name="staffaddress",
        name="user",
    ),
    migrations.DeleteModel(
        name="Account",
    ),
    migrations.DeleteModel(
        name="Alert",
    ),
    migrations.DeleteModel(
        name="AlertDelivery",
    ),
    migrations.DeleteModel(
        name="AlertRule",
    ),
    migrations.DeleteModel(
        name="ExposureReport",
    ),
    migrations.DeleteModel(
        name="ReportDelivery",
    ),
    migrations.DeleteModel(
        name="ExposureSnapshot",
    ),
    migrations.DeleteModel(
        name="MarginParameters",
    ),
    migrations.DeleteModel(
        name="MarginPolicy",
    ),
    migrations.DeleteModel(
        name="MarginRecommendation",
    ),
    migrations.DeleteModel(
        name="ParameterRule",
    ),
    migrations.DeleteModel(
        name="PriceFeed",
    ),
    migrations.DeleteModel(
        name="PriceObservation",
    ),
    migrations.DeleteModel(
        name="Market",
    ),
    migrations.DeleteModel(
        name="Position",
    ),
    migrations.DeleteModel(
        name="ParameterChange",
    ),
    migrations.DeleteModel(
        name="Vote",
    ),
    migrations.DeleteModel(
        name="Proposal",
    ),
    migrations.DeleteModel(
        name="ProposalExecution",
    ),
    migrations.DeleteModel(
        name="ReportSchedule",
    ),
    migrations.DeleteModel(
        name="ReportSubscription",
    ),
    migrations.DeleteModel(
        name="StaffAddress",
    ),
]

MOVED = {
    "core": ["auditrecord"],
    "markets": [
        "account",
        "exposuresnapshot",
        "market",
        "marginparameters",
        "parameterrule",
        "position",
        "priceobservation",
    ],
    "governance": [
        "governancesettings",
        "proposal",
        "parameterchange",
        "vote",
        "proposalexecution",
        "siwenonce",
        "staffaddress",
    ],
    "monitoring": ["pricefeed", "marginrecommendation", "alertrule", "alert", "alertdelivery", "marginpolicy"],
    "reports": ["reportschedule", "reportsubscription", "exposurereport", "reportdelivery"],
}


def _relabel(apps, *, old_of, new_of):
    content_type = apps.get_model("contenttypes", "ContentType")
    audit_record = apps.get_model("core", "AuditRecord")
    for app, model_names in MOVED.items():
        for model in model_names:
            old, new = old_of(app), new_of(app)
            if content_type.objects.filter(app_label=old, model=model).exists():
                content_type.objects.filter(app_label=new, model=model).delete()  # made by a partial earlier run
                content_type.objects.filter(app_label=old, model=model).update(app_label=new)
            audit_record.objects.filter(subject_type=f"{old}.{model}").update(subject_type=f"{new}.{model}")


def relabel_forwards(apps, schema_editor):
    _relabel(apps, old_of=lambda app: "riskgov", new_of=lambda app: app)


def relabel_backwards(apps, schema_editor):
    _relabel(apps, old_of=lambda app: app, new_of=lambda app: "riskgov")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("monitoring", "0001_initial"),
        ("governance", "0001_initial"),
        ("markets", "0001_initial"),
        ("core", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("chain", "0004_registry_update_market_in_markets_app"),
        ("riskgov", "0009_monitoring_schedules"),
    ]

    operations = [
        migrations.RunPython(relabel_forwards, relabel_backwards),
        migrations.SeparateDatabaseAndState(state_operations=STATE_OPERATIONS),
    ]
