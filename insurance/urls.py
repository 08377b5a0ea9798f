from django.urls import path

from insurance.views import api, pages, scenarios

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
    path("scenarios/", scenarios.scenario_index, name="scenario-list"),
    path("scenarios/new/", scenarios.scenario_new, name="scenario-new"),
    path("scenarios/compare/", scenarios.scenario_compare, name="scenario-compare"),
    path("scenarios/<slug:scenario>/", scenarios.scenario_detail, name="scenario-detail"),
    path("scenarios/<slug:scenario>/edit/", scenarios.scenario_edit, name="scenario-edit"),
    path("scenarios/<slug:scenario>/run/", scenarios.scenario_run, name="scenario-run"),
    path("api/runs/", api.runs, name="api-runs"),
    path("api/runs/<int:run_id>/", api.run_detail, name="api-run-detail"),
    path("api/runs/<int:run_id>/cancel/", api.run_cancel, name="api-run-cancel"),
]
