"""Routes of the markets API, included under ``/api/`` by ``riskgov.markets.urls`` (namespace ``riskgov``)."""

from django.urls import path, re_path

from riskgov.markets.api import exposure, markets, positions

SYMBOL = r"(?P<symbol>[A-Za-z0-9][A-Za-z0-9._-]{0,31})"  # Market.symbol; anything else is a 404

urlpatterns = [
    path("markets/", markets.MarketList.as_view(), name="api-markets"),
    re_path(rf"^markets/{SYMBOL}/$", markets.MarketDetail.as_view(), name="api-market"),
    re_path(rf"^markets/{SYMBOL}/parameters/$", markets.MarketParameterHistory.as_view(), name="api-market-parameters"),
    path("positions/", positions.PositionList.as_view(), name="api-positions"),
    path("exposure/snapshots/", exposure.SnapshotList.as_view(), name="api-snapshots"),
    path("exposure/snapshots/latest/", exposure.LatestSnapshotSet.as_view(), name="api-snapshots-latest"),
    path("exposure/snapshots/<int:snapshot_id>/", exposure.SnapshotDetail.as_view(), name="api-snapshot"),
    path("exposure/liquidation-map/", exposure.LiquidationMap.as_view(), name="api-liquidation-map"),
    path("exposure/shocks/", exposure.ShockTable.as_view(), name="api-shocks"),
]
