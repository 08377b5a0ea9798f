"""Exposure reports: list, one report, and its CSV / PDF."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import FileResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, renderers, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from riskgov.core.api.schema import error_response
from riskgov.core.models import Permission
from riskgov.core.permissions import api_permission
from riskgov.reports.models import ExposureReport, ReportDelivery, ReportKind, ReportSchedule
from riskgov.reports.selectors.reports import report_list
from riskgov.reports.services.render import report_filename
from riskgov.reports.services.rendered import report_rendered_file


class ReportScheduleOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    cadence = serializers.CharField()


class ReportOutput(serializers.ModelSerializer):
    schedule = ReportScheduleOutput()
    snapshot = serializers.IntegerField(source="snapshot_id", allow_null=True, help_text="The protocol snapshot.")
    links = serializers.SerializerMethodField()

    class Meta:
        model = ExposureReport
        fields = [
            "id",
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
            "links",
        ]

    def get_links(self, report: ExposureReport) -> dict[str, str]:
        """The report page and its files (absolute URLs)."""
        request = self.context.get("request")
        names = {
            "html": "reports:report-detail",
            "csv": "reports:api-report-csv",
            "pdf": "reports:api-report-pdf",
            "json": "reports:report-json",
        }
        links = {kind: reverse(name, kwargs={"report_id": report.pk}) for kind, name in names.items()}
        return {kind: request.build_absolute_uri(url) if request else url for kind, url in links.items()}


class ReportDetailOutput(ReportOutput):
    class Meta(ReportOutput.Meta):
        fields = [*ReportOutput.Meta.fields, "content"]


class ReportFilter(django_filters.FilterSet):
    """The report page's filters; the selector applies them (dates are UTC days the period overlaps)."""

    schedule = django_filters.ModelChoiceFilter(queryset=ReportSchedule.objects.all(), method="keep")
    kind = django_filters.ChoiceFilter(choices=ReportKind.choices, method="keep")
    date_from = django_filters.DateFilter(method="keep", help_text="Periods ending after this day starts.")
    date_to = django_filters.DateFilter(method="keep", help_text="Periods starting before this day ends.")

    class Meta:
        model = ExposureReport
        fields = ["schedule", "kind", "date_from", "date_to"]

    def keep(self, queryset: QuerySet[ExposureReport], name: str, value: Any) -> QuerySet[ExposureReport]:
        return queryset  # applied all at once by filter_queryset

    def filter_queryset(self, queryset: QuerySet[ExposureReport]) -> QuerySet[ExposureReport]:
        data = self.form.cleaned_data
        schedule = data.get("schedule")
        return report_list(
            schedule_id=schedule.pk if schedule else None,
            kind=data.get("kind") or None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


class ReportList(generics.ListAPIView):
    """Reports, newest period first."""

    permission_classes = [AllowAny]
    serializer_class = ReportOutput
    filterset_class = ReportFilter

    def get_queryset(self) -> QuerySet[ExposureReport]:
        return report_list()


class ReportDetail(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = ReportDetailOutput
    lookup_url_kwarg = "report_id"

    def get_queryset(self) -> QuerySet[ExposureReport]:
        return ExposureReport.objects.select_related("schedule")


class ReportDeliveryOutput(serializers.ModelSerializer):
    class Meta:
        model = ReportDelivery
        fields = ["id", "recipient", "status", "attempts", "last_error", "created_at", "last_attempt_at", "sent_at"]


class ReportDeliveryList(generics.ListAPIView):
    """The report's e-mail deliveries, by recipient (staff only, like the deliveries on the report page)."""

    permission_classes = [api_permission(Permission.VIEW_STAFF_PAGES)]
    serializer_class = ReportDeliveryOutput

    def get_queryset(self) -> QuerySet[ReportDelivery]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator reads the model, not rows
            return ReportDelivery.objects.none()
        report = get_object_or_404(ExposureReport, pk=self.kwargs["report_id"])
        return report.deliveries.order_by("recipient", "pk")


class _ReportFile(APIView):
    """A file download: the file itself, or a refusal as JSON whatever the client accepts."""

    permission_classes = [AllowAny]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[Any, str]:
        return renderers.JSONRenderer(), "application/json"


def _stored(report: ExposureReport, fmt: str, content_type: str) -> FileResponse:
    """The file rendered once per report version (RenderBusy, a 503, while another request renders it)."""
    rendered = report_rendered_file(report=report, fmt=fmt)
    return FileResponse(
        rendered.file.open("rb"), as_attachment=True, filename=report_filename(report, fmt), content_type=content_type
    )


def _report(report_id: int) -> ExposureReport:
    return get_object_or_404(ExposureReport.objects.select_related("schedule"), pk=report_id)


class ReportCsv(_ReportFile):
    """The report's figures as CSV rows (section, scope, metric, value)."""

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV file."),
            503: error_response(503),
        }
    )
    def get(self, request: Request, report_id: int) -> HttpResponseBase:
        return _stored(_report(report_id), "csv", "text/csv; charset=utf-8")


class ReportPdf(_ReportFile):
    """The report as a PDF document."""

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF file."),
            503: error_response(503),
        }
    )
    def get(self, request: Request, report_id: int) -> HttpResponseBase:
        return _stored(_report(report_id), "pdf", "application/pdf")
