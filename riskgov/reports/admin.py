"""Admin for report schedules (kept in step with their Celery beat entry), subscriptions, reports, deliveries."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from riskgov.core.admin_base import DeletableReadOnlyPermissions, ReadOnlyPermissions
from riskgov.reports.models import ExposureReport, ReportDelivery, ReportSchedule, ReportSubscription
from riskgov.reports.services.reports import (
    ReportError,
    report_schedule_delete,
    report_schedule_sync,
    report_subscription_create,
    report_subscription_delete,
)


class SubscriptionInline(DeletableReadOnlyPermissions, admin.TabularInline):
    """Subscriptions get their unsubscribe token from the service: add them on the page or their own admin."""

    model = ReportSubscription
    extra = 0
    fields = ("email", "created_by", "created_at")
    readonly_fields = ("email", "created_by", "created_at")


@admin.register(ReportSchedule)
class ReportScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "cadence", "crontab", "enabled", "beat_entry")
    list_filter = ("kind", "cadence", "enabled")
    filter_horizontal = ("markets",)
    inlines = [SubscriptionInline]
    fieldsets = (
        (None, {"fields": ("name", "kind", "cadence", "crontab", "enabled", "markets", "recipients")}),
        (
            "Alert thresholds",
            {"fields": ("coverage_ratio_min", "oi_cap_share_max", "top10_share_max", "exhaustion_probability_max")},
        ),
    )

    @admin.display(description="Beat entry")
    def beat_entry(self, schedule: ReportSchedule) -> str:
        if schedule.periodic_task_id is None:
            return "—"
        url = reverse("admin:django_celery_beat_periodictask_change", args=[schedule.periodic_task_id])
        return format_html('<a href="{}">{}</a>', url, "last run / details")

    def save_model(self, request: HttpRequest, obj: ReportSchedule, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        report_schedule_sync(schedule=obj)

    def delete_model(self, request: HttpRequest, obj: ReportSchedule) -> None:
        try:
            report_schedule_delete(schedule=obj, actor=request.user.get_username())
        except ReportError as error:
            messages.error(request, str(error))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ReportSchedule]) -> None:
        for schedule in queryset:
            self.delete_model(request, schedule)

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool) -> None:
        formset.save(commit=False)  # the subscription inline only deletes: through the audited service
        for subscription in formset.deleted_objects:
            report_subscription_delete(subscription=subscription, actor=request.user.get_username())


@admin.register(ReportSubscription)
class ReportSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("email", "schedule", "created_by", "created_at")
    list_filter = ("schedule",)
    search_fields = ("email",)
    fields = ("schedule", "email", "created_by", "created_at")
    readonly_fields = ("created_by", "created_at")

    def save_model(self, request: HttpRequest, obj: ReportSubscription, form: ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = report_subscription_create(
            schedule=obj.schedule, email=obj.email, created_by=request.user.get_username()
        )
        obj.pk, obj.token = created.pk, created.token

    def delete_model(self, request: HttpRequest, obj: ReportSubscription) -> None:
        report_subscription_delete(subscription=obj, actor=request.user.get_username())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ReportSubscription]) -> None:
        for subscription in queryset:
            self.delete_model(request, subscription)


class DeliveryInline(ReadOnlyPermissions, admin.TabularInline):
    model = ReportDelivery
    extra = 0
    fields = ("recipient", "status", "attempts", "sent_at", "last_error")
    readonly_fields = fields


@admin.register(ExposureReport)
class ExposureReportAdmin(DeletableReadOnlyPermissions, admin.ModelAdmin):
    """Reports come from the schedule task, "Generate now" or `manage.py exposure_report`; they are never edited."""

    list_display = ("period_label", "schedule", "kind", "has_data", "alert_count", "generated_at", "page")
    list_filter = ("schedule", "kind", "has_data")
    date_hierarchy = "period_end"
    inlines = [DeliveryInline]
    fields = (
        "schedule",
        "kind",
        "period_label",
        "period_start",
        "period_end",
        "snapshot",
        "has_data",
        "alert_count",
        "requested_by",
        "generated_at",
    )
    readonly_fields = fields

    @admin.display(description="Report")
    def page(self, report: ExposureReport) -> str:
        return format_html('<a href="{}">open</a>', reverse("reports:report-detail", args=[report.pk]))


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(DeletableReadOnlyPermissions, admin.ModelAdmin):
    list_display = ("report", "recipient", "status", "attempts", "sent_at")
    list_filter = ("status",)
    search_fields = ("recipient",)
    readonly_fields = ("report", "recipient", "status", "attempts", "sent_at", "last_error", "created_at")
