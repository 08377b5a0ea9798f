"""Exposure reports: schedules in step with Celery beat, idempotent generation, subscriptions and e-mail.

A report is keyed by (schedule, period): generating it again returns the stored one. Deliveries are
keyed by (report, recipient): a retry updates its row and re-sends the stored report, never a new one.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from riskgov.core import dispatch
from riskgov.core.links import site_base_url
from riskgov.core.models import OUTBOX_OPEN_STATES, AuditAction
from riskgov.core.services.audit import audit_record
from riskgov.core.services.outbox import TransientDeliveryError, outbox_delivery_send, outbox_email_send
from riskgov.reports.domain.periods import ReportPeriod, period_last_complete, period_parse
from riskgov.reports.models import ExposureReport, ReportDelivery, ReportSchedule, ReportSubscription
from riskgov.reports.models.reports import REPORT_TASK
from riskgov.reports.selectors.reports import report_schedule_recipients
from riskgov.reports.services.content import report_charts_render, report_content_build
from riskgov.reports.services.render import (
    report_csv,
    report_document_render,
    report_filename,
    report_view,
)
from riskgov.reports.services.subscriptions import SUBSCRIPTION_CONFIRM_TASK

# Sending failed for a reason that may pass (the SMTP server refused or was unreachable); recorded, retried later.
DeliveryFailed = TransientDeliveryError


class ReportError(Exception):
    """A report request that cannot be served; the message says why."""


def periodic_task_name(schedule: ReportSchedule) -> str:
    return f"Exposure report: {schedule.name}"


def report_schedule_sync(*, schedule: ReportSchedule) -> PeriodicTask:
    """Create or update the beat entry of `schedule`: same crontab and enabled flag, kwargs naming the row."""
    with transaction.atomic():
        task = schedule.periodic_task or PeriodicTask(name=periodic_task_name(schedule))
        task.name = periodic_task_name(schedule)
        task.task = REPORT_TASK
        task.crontab = schedule.crontab
        task.interval = None
        task.kwargs = json.dumps({"schedule_id": schedule.pk})
        task.enabled = schedule.enabled
        task.description = f"Managed by the report schedule “{schedule.name}”: edit it there."
        task.save()
        if schedule.periodic_task_id != task.pk:
            schedule.periodic_task = task
            schedule.save(update_fields=["periodic_task"])
    return task


def report_schedule_delete(*, schedule: ReportSchedule, actor: str) -> None:
    """Delete a schedule that has no reports, with its beat entry."""
    if schedule.reports.exists():
        raise ReportError(f"“{schedule}” has reports; disable it instead of deleting it.")
    with transaction.atomic():
        audit_record(
            action=AuditAction.REPORT_SCHEDULE_DELETED, subject=schedule, actor=actor, data={"name": schedule.name}
        )
        task = schedule.periodic_task
        schedule.delete()
        if task is not None:
            task.delete()


def report_period_resolve(*, schedule: ReportSchedule, period: str | None, now: datetime | None = None) -> ReportPeriod:
    """`period` as given ("2026-11-24", "2026-W47"), or the last complete one for the schedule's cadence.

    A period that has not ended is refused here, so "Generate now" answers at once instead of queueing a task
    that the worker would refuse.
    """
    now = now or timezone.now()
    if not period:
        return period_last_complete(schedule.cadence, now)
    try:
        resolved = period_parse(period, schedule.cadence)
    except ValueError as error:
        raise ReportError(str(error)) from error
    _refuse_unfinished(resolved, now=now)
    return resolved


def _refuse_unfinished(period: ReportPeriod, *, now: datetime) -> None:
    """A report covers a period that has ended: the request refuses one that has not, and so does the worker."""
    if period.end > now:
        raise ReportError(
            f"The period {period.label} has not ended yet; the last complete one is "
            f"{period_last_complete(period.cadence, now).label}."
        )


@dataclass(frozen=True)
class Generated:
    report: ExposureReport
    created: bool


def exposure_report_generate(*, schedule: ReportSchedule, period: ReportPeriod, requested_by: str) -> Generated:
    """The report of `schedule` for `period`: the stored one if it exists, otherwise built and stored.

    Idempotent: concurrent or repeated calls for the same schedule and period give one report.
    """
    existing = ExposureReport.objects.filter(
        schedule=schedule, period_start=period.start, period_end=period.end
    ).first()
    if existing is not None:
        return Generated(existing, created=False)
    _refuse_unfinished(period, now=timezone.now())
    content, snapshot = report_content_build(schedule=schedule, period=period)
    charts = report_charts_render(content=content, period=period)
    report = ExposureReport(
        schedule=schedule,
        kind=schedule.kind,
        period_start=period.start,
        period_end=period.end,
        period_label=period.label,
        snapshot=snapshot,
        has_data=content["has_data"],
        alert_count=len(content["alerts"]),
        content=content,
        charts=charts,
        html=report_document_render(content=content, charts=charts),
        requested_by=requested_by,
    )
    try:
        with transaction.atomic():
            report.save()
            audit_record(
                action=AuditAction.REPORT_GENERATED,
                subject=report,
                actor=requested_by,
                data={"schedule": schedule.pk, "period": period.label, "alerts": report.alert_count},
            )
    except IntegrityError:
        # another worker stored the same period first: theirs is the report
        stored = ExposureReport.objects.get(schedule=schedule, period_start=period.start, period_end=period.end)
        return Generated(stored, created=False)
    return Generated(report, created=True)


def report_deliveries_prepare(*, report: ExposureReport) -> list[int]:
    """One delivery row per current recipient (existing rows kept); ids of those not yet sent."""
    recipients = report_schedule_recipients(schedule=report.schedule)
    ReportDelivery.objects.bulk_create(
        [ReportDelivery(report=report, recipient=address) for address in recipients], ignore_conflicts=True
    )
    return list(report.deliveries.filter(status__in=OUTBOX_OPEN_STATES).order_by("pk").values_list("pk", flat=True))


def report_email_build(*, report: ExposureReport, recipient: str) -> EmailMultiAlternatives:
    """The e-mail of `report` to `recipient`: plain text, HTML with inline SVG charts, and the CSV attached."""
    base = site_base_url()
    subscription = ReportSubscription.objects.filter(schedule_id=report.schedule_id, email__iexact=recipient).first()
    unsubscribe_url = (
        base + reverse("reports:unsubscribe", args=[subscription.token]) if subscription is not None else None
    )
    context = {
        "report": report,
        "view": report_view(report.content),
        "report_url": base + reverse("reports:report-detail", args=[report.pk]),
        "unsubscribe_url": unsubscribe_url,
        "link_base": base,
        "document": report_document_render(content=report.content, charts=report.charts, link_base=base),
    }
    alerts = f" · {report.alert_count} alert{'s' if report.alert_count != 1 else ''}" if report.alert_count else ""
    message = EmailMultiAlternatives(
        subject=f"[RiskGov] {report.schedule.name} · {report.period_label}{alerts}",
        body=render_to_string("email/exposure_report.txt", context),
        to=[recipient],
        headers={"List-Unsubscribe": f"<{unsubscribe_url}>"} if unsubscribe_url else None,
    )
    message.attach_alternative(render_to_string("email/exposure_report.html", context), "text/html")
    message.attach(report_filename(report, "csv"), report_csv(report), "text/csv")
    return message


def _report_email_send(delivery: ReportDelivery) -> None:
    """The outbox channel of reports: the stored report, e-mailed; nothing is regenerated."""
    outbox_email_send(report_email_build(report=delivery.report, recipient=delivery.recipient))


def report_delivery_send(*, delivery_id: int, final_attempt: bool = False) -> ReportDelivery:
    """Send one delivery unless it was sent (or given up) already; record the attempt and its outcome on the row.

    Raises DeliveryFailed on a transient error, after recording it, so the caller can retry later; on the
    `final_attempt` the delivery is recorded as given up instead.
    """
    return outbox_delivery_send(
        deliveries=ReportDelivery.objects.select_related("report__schedule"),
        delivery_id=delivery_id,
        channel=_report_email_send,
        final_attempt=final_attempt,
    )


def report_subscription_create(*, schedule: ReportSchedule, email: str, created_by: str) -> ReportSubscription:
    """Subscribe `email` to `schedule`, pending until the address confirms from the mail this sends.

    The existing subscription when already subscribed; a pending one gets its confirmation mail again.
    """
    email = email.strip().lower()
    subscription = ReportSubscription(
        schedule=schedule, email=email, token=secrets.token_urlsafe(32), created_by=created_by
    )
    try:
        subscription.full_clean(exclude=["schedule"], validate_unique=False)
    except ValidationError as error:
        raise ReportError("; ".join(error.messages)) from error
    existing = ReportSubscription.objects.filter(schedule=schedule, email__iexact=email).first()
    if existing is not None:
        if existing.confirmed_at is None:
            dispatch.send_on_commit(SUBSCRIPTION_CONFIRM_TASK, subscription_id=existing.pk)
        return existing
    with transaction.atomic():
        subscription.save()
        audit_record(
            action=AuditAction.REPORT_SUBSCRIPTION_CREATED,
            subject=subscription,
            actor=created_by,
            data={"schedule": schedule.pk, "email": email},
        )
        dispatch.send_on_commit(SUBSCRIPTION_CONFIRM_TASK, subscription_id=subscription.pk)
    return subscription


def report_subscription_delete(*, subscription: ReportSubscription, actor: str) -> None:
    with transaction.atomic():
        audit_record(
            action=AuditAction.REPORT_SUBSCRIPTION_DELETED,
            subject=subscription,
            actor=actor,
            data={"schedule": subscription.schedule_id, "email": subscription.email},
        )
        subscription.delete()
