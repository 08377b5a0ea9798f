from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from riskgov.markets.models import Market
from riskgov.markets.selectors.overview import market_detail as market_detail_select
from riskgov.markets.selectors.overview import markets_overview


@require_GET
def market_list(request: HttpRequest) -> HttpResponse:
    markets = markets_overview()
    snapshot_at = next((m.snapshot.taken_at for m in markets if m.snapshot is not None), None)
    return render(
        request,
        "riskgov/market_list.html",
        {
            "markets": markets,
            "snapshot_at": snapshot_at,
            "stale_after": settings.RISKGOV_MARK_STALE_AFTER,
            "flat_after": settings.RISKGOV_MARK_FLAT_AFTER,
        },
    )


@require_GET
def market_detail(request: HttpRequest, symbol: str) -> HttpResponse:
    market = get_object_or_404(Market, symbol__iexact=symbol)
    return render(request, "riskgov/market_detail.html", {"detail": market_detail_select(market=market)})
