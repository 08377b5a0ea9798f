from django.urls import path

from riskgov.monitoring.views import pages as monitoring

app_name = "monitoring"
urlpatterns = [
    path("alerts/", monitoring.alert_list, name="alerts"),
    path("alerts/banner/", monitoring.alert_banner, name="alert-banner"),
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
    path("markets/<str:symbol>/policy/", monitoring.market_policy, name="market-policy"),
    path("markets/<str:symbol>/backtest/", monitoring.market_backtest_page, name="market-backtest"),
]
