from django.urls import include, path

from riskgov.markets.views import dashboard, imports, markets, positions

app_name = "riskgov"
urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("snapshots/run/", dashboard.snapshot_run, name="snapshot-run"),
    path("markets/", markets.market_list, name="market-list"),
    path("markets/<str:symbol>/", markets.market_detail, name="market-detail"),
    path("positions/", positions.position_list, name="position-list"),
    path("positions/export.csv", positions.position_export_csv, name="position-export"),
    path("accounts/<str:address>/", positions.account_detail, name="account-detail"),
    path("import/", imports.import_upload, name="import"),
    path("import/jobs/<int:job_id>/", imports.import_job_detail, name="import-job"),
    path("api/", include("riskgov.markets.api.urls")),
]
