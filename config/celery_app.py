"""The Celery application; configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("riskgov")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every worker reports the coverage tasks it holds and re-sends what a lost worker or broker dropped.
app.steps["consumer"].add("insurance.watchdog:CoverageWatchdogStep")
