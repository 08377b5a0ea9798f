from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from riskgov.core.api.tokens import api_token_page
from riskgov.core.views.health import healthz

handler400 = "riskgov.core.api.handlers.bad_request"
handler404 = "riskgov.core.api.handlers.not_found"
handler500 = "riskgov.core.api.handlers.server_error"


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files; Swagger's start script is a separate
    # request (?script), so neither page needs an inline script (Content-Security-Policy).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Redoc's bundle adds <style> elements as it loads and runs its search in a blob: worker, so its page alone
    # allows inline styles and blob: workers; scripts stay 'self' only. Its maker's logo (an image on their
    # site) stays blocked: no page makes the browser fetch from a third party.
    path(
        "api/redoc/",
        csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})(
            SpectacularRedocView.as_view(url_name="api-schema")
        ),
        name="api-redoc",
    ),
    path("healthz", healthz, name="healthz"),
    path("api/token/", api_token_page, name="api-token"),
    path("insurance/", include("insurance.urls")),
    path("reports/", include("riskgov.reports.urls")),
    path("chain/", include("chain.urls")),
    path("governance/", include("riskgov.governance.urls")),
    path("auth/", include("riskgov.governance.auth_urls")),
    path("risk/", include("riskgov.monitoring.urls")),
    path("", include("riskgov.markets.urls")),
]
