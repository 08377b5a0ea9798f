from riskgov.reports.models.rendered import RenderedFormat, RenderedReportFile
from riskgov.reports.models.reports import (
    REPORT_TASK,
    DeliveryStatus,
    ExposureReport,
    ReportCadence,
    ReportDelivery,
    ReportKind,
    ReportSchedule,
    ReportSubscription,
)

__all__ = [
    "REPORT_TASK",
    "DeliveryStatus",
    "ExposureReport",
    "RenderedFormat",
    "RenderedReportFile",
    "ReportCadence",
    "ReportDelivery",
    "ReportKind",
    "ReportSchedule",
    "ReportSubscription",
]
