from django.urls import path

from insurance.views import api, pages

app_name = "insurance"
urlpatterns = [
    path("", pages.insurance_home, name="home"),
    path("runs/new/", pages.run_new, name="run-new"),
    path("runs/compare/", pages.run_compare, name="run-compare"),
    path("runs/<int:run_id>/", pages.run_detail, name="run-detail"),
    path("runs/<int:run_id>/progress/", pages.run_progress_fragment, name="run-progress"),
    path("runs/<int:run_id>/cancel/", pages.run_cancel, name="run-cancel"),
    path("runs/<int:run_id>/paths.csv", pages.run_download_csv, name="run-csv"),
    path("runs/<int:run_id>/run.json", pages.run_download_json, name="run-json"),
    path("api/runs/", api.runs, name="api-runs"),
    path("api/runs/<int:run_id>/", api.run_detail, name="api-run-detail"),
    path("api/runs/<int:run_id>/cancel/", api.run_cancel, name="api-run-cancel"),
]
