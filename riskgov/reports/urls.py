from django.urls import include, path

from riskgov.reports.views import pages as reports

app_name = "reports"
urlpatterns = [
    path("", reports.report_list, name="report-list"),
    path("generate/", reports.report_generate, name="generate"),
    path("schedules/", reports.schedule_list, name="schedules"),
    path("document.css", reports.document_styles, name="document-css"),
    path("subscriptions/", reports.subscription_create, name="subscribe"),
    path("unsubscribe/<str:token>/", reports.unsubscribe, name="unsubscribe"),
    path("subscriptions/confirm/<str:token>/", reports.subscription_confirm, name="subscription-confirm"),
    path("api/", include("riskgov.reports.api.urls")),
    path("<int:report_id>/", reports.report_detail, name="report-detail"),
    path("<int:report_id>/report.csv", reports.report_download_csv, name="report-csv"),
    path("<int:report_id>/report.json", reports.report_download_json, name="report-json"),
    path("<int:report_id>/report.pdf", reports.report_download_pdf, name="report-pdf"),
]
