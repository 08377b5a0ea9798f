"""The core tables, taken over from the `riskgov` schema history (migrations 0001–0009) as they are.

The tables already exist and keep their `riskgov_*` names: this only records them in the migration state
under their new app."""

from django.db import migrations, models

STATE_OPERATIONS = [
    migrations.CreateModel(
        name="AuditRecord",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("action", models.CharField(db_index=True, max_length=64)),
            ("subject_type", models.CharField(max_length=64)),
            ("subject_id", models.CharField(max_length=64)),
            ("actor", models.CharField(max_length=150)),
            ("data", models.JSONField(default=dict)),
            ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
        ],
        options={
            "db_table": "riskgov_auditrecord",
            "ordering": ["-created_at"],
            "indexes": [models.Index(fields=["subject_type", "subject_id"], name="audit_subject_idx")],
        },
    ),
]


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("riskgov", "0009_monitoring_schedules"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=STATE_OPERATIONS),
    ]
