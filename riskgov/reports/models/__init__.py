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
    "ReportCadence",
    "ReportDelivery",
    "ReportKind",
    "ReportSchedule",
    "ReportSubscription",
]
