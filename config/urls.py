from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("insurance/", include("insurance.urls")),
    path("reports/", include("riskgov.reports.urls")),
    path("chain/", include("chain.urls")),
    path("governance/", include("riskgov.governance.urls")),
    path("auth/", include("riskgov.governance.auth_urls")),
    path("risk/", include("riskgov.monitoring.urls")),
    path("", include("riskgov.markets.urls")),
]
