from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from riskgov.reports.models import ReportSchedule
from riskgov.reports.services.reports import (
    DeliveryFailed,
    ReportError,
    exposure_report_generate,
    report_deliveries_prepare,
    report_delivery_send,
    report_period_resolve,
)


class Command(BaseCommand):
    help = (
        "Generate a schedule's exposure report for a period (or find the one already stored) and e-mail it to the "
        "schedule's recipients. --schedule takes an id or a name; --period a day (2026-11-24) or an ISO week "
        "(2026-W47), default the last complete period. Running it twice never duplicates a report or an e-mail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schedule", required=True, help="Schedule id or name.")
        parser.add_argument("--period", default="", help="YYYY-MM-DD or YYYY-Www; default the last complete one.")
        parser.add_argument("--no-email", action="store_true", help="Store the report without sending it.")

    def handle(self, *args: Any, **options: Any) -> None:
        key = options["schedule"]
        match = Q(name__iexact=key) | Q(pk=int(key)) if key.isdigit() else Q(name__iexact=key)
        schedule = ReportSchedule.objects.filter(match).first()
        if schedule is None:
            names = ", ".join(ReportSchedule.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"No report schedule {key!r}. Schedules: {names}.")
        try:
            period = report_period_resolve(schedule=schedule, period=options["period"])
            generated = exposure_report_generate(schedule=schedule, period=period, requested_by="command")
        except ReportError as error:
            raise CommandError(str(error)) from error
        report = generated.report
        state = "generated" if generated.created else "already stored"
        data = "" if report.has_data else ", no exposure data in the period"
        alerts = f"{report.alert_count} alert(s)"
        self.stdout.write(f"Report #{report.pk} {schedule} {period.label}: {state}, {alerts}{data}.")
        if options["no_email"]:
            return
        for delivery_id in report_deliveries_prepare(report=report):
            try:
                delivery = report_delivery_send(delivery_id=delivery_id)
            except DeliveryFailed as error:
                self.stderr.write(f"  delivery #{delivery_id} failed (recorded; retry by running again): {error}")
                continue
            self.stdout.write(f"  sent to {delivery.recipient}")
