from django.urls import include, path

from riskgov.monitoring.views import liquidations
from riskgov.monitoring.views import pages as monitoring

app_name = "monitoring"
urlpatterns = [
    path("alerts/", monitoring.alert_list, name="alerts"),
    path("alerts/banner/", monitoring.alert_banner, name="alert-banner"),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        monitoring.alert_action,
        {"action": "acknowledge"},
        name="alert-acknowledge",
    ),
    path("alerts/<int:alert_id>/snooze/", monitoring.alert_action, {"action": "snooze"}, name="alert-snooze"),
    path("alerts/<int:alert_id>/resolve/", monitoring.alert_action, {"action": "resolve"}, name="alert-resolve"),
    path("recommendations/", monitoring.recommendation_list, name="recommendations"),
    path(
        "recommendations/<int:recommendation_id>/apply/", monitoring.recommendation_apply, name="recommendation-apply"
    ),
    path(
        "recommendations/<int:recommendation_id>/dismiss/",
        monitoring.recommendation_dismiss,
        name="recommendation-dismiss",
    ),
    path(
        "recommendations/<int:recommendation_id>/propose/",
        monitoring.recommendation_propose,
        name="recommendation-propose",
    ),
    path(
        "recommendations/<int:recommendation_id>/coverage/",
        monitoring.recommendation_coverage_fragment,
        name="recommendation-coverage",
    ),
    path(
        "recommendations/<int:recommendation_id>/coverage/start/",
        monitoring.recommendation_coverage_start,
        name="recommendation-coverage-start",
    ),
    path("markets/<str:symbol>/policy/", monitoring.market_policy, name="market-policy"),
    path("markets/<str:symbol>/backtest/", monitoring.market_backtest_page, name="market-backtest"),
    path("liquidations/", liquidations.liquidation_list, name="liquidations"),
    path("liquidations/backtest/", liquidations.coverage_backtest_start, name="coverage-backtest-start"),
    path("api/", include("riskgov.monitoring.api.urls")),
]
