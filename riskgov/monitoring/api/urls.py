"""Routes of the monitoring API, included under ``/risk/api/`` by ``riskgov.monitoring.urls``."""

from django.urls import path

from riskgov.monitoring.api import alerts

urlpatterns = [
    path("alerts/", alerts.AlertList.as_view(), name="api-alerts"),
    path("alerts/<int:alert_id>/", alerts.AlertDetail.as_view(), name="api-alert"),
    path("alerts/<int:alert_id>/acknowledge/", alerts.AlertAcknowledge.as_view(), name="api-alert-acknowledge"),
    path("alerts/<int:alert_id>/snooze/", alerts.AlertSnooze.as_view(), name="api-alert-snooze"),
    path("alerts/<int:alert_id>/resolve/", alerts.AlertResolve.as_view(), name="api-alert-resolve"),
]
