"""Routes of the reports API, included under ``/reports/api/`` by ``riskgov.reports.urls``."""

from django.urls import path

from riskgov.reports.api import reports

urlpatterns = [
    path("reports/", reports.ReportList.as_view(), name="api-reports"),
    path("reports/<int:report_id>/", reports.ReportDetail.as_view(), name="api-report"),
    path("reports/<int:report_id>/deliveries/", reports.ReportDeliveryList.as_view(), name="api-report-deliveries"),
    path("reports/<int:report_id>/report.csv", reports.ReportCsv.as_view(), name="api-report-csv"),
    path("reports/<int:report_id>/report.pdf", reports.ReportPdf.as_view(), name="api-report-pdf"),
]
