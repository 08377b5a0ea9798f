"""Open positions with the positions page's filters and sorts, paged by keyset cursor."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from riskgov.markets.api.fields import AmountField, RiskFigureField
from riskgov.markets.selectors.markets import market_states
from riskgov.markets.selectors.positions import (
    DEFAULT_SORT,
    DISTANCE_BANDS,
    LEVERAGE_BANDS,
    LONG,
    PAGE_SIZE,
    SHORT,
    SORTS,
    InvalidCursor,
    PositionFilters,
    PositionRow,
    open_positions_page,
)

MAX_PAGE_SIZE = 200
SIDES = {"long": LONG, "short": SHORT}


class PositionQuery(serializers.Serializer):
    market = serializers.CharField(required=False, allow_blank=True, max_length=32, help_text="Market symbol.")
    side = serializers.ChoiceField(choices=list(SIDES), required=False, allow_blank=True)
    leverage = serializers.ChoiceField(
        choices=[(k, label) for k, (label, _) in LEVERAGE_BANDS.items()], required=False, allow_blank=True
    )
    distance = serializers.ChoiceField(
        choices=[(k, label) for k, (label, _) in DISTANCE_BANDS.items()],
        required=False,
        allow_blank=True,
        help_text="Distance to liquidation below the band (liquidatable positions included).",
    )
    sort = serializers.ChoiceField(choices=list(SORTS.items()), required=False, default=DEFAULT_SORT)
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=4096, help_text="From next/previous.")
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE)

    def validate_market(self, symbol: str) -> str:
        if symbol and symbol not in self.context["symbols"]:
            raise serializers.ValidationError(f"{symbol!r} is not an active market.", code="invalid_choice")
        return symbol

    def filters(self) -> PositionFilters:
        data = self.validated_data
        return PositionFilters(
            market=data.get("market", ""),
            side=SIDES.get(data.get("side", "")),
            leverage_band=data.get("leverage", ""),
            distance_band=data.get("distance", ""),
            sort=data["sort"],
        )


class PositionOutput(serializers.Serializer):
    """Figures at the market's current mark price: amounts in quote units, size in base units (signed)."""

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    account = serializers.CharField(source="account_address")
    market = serializers.CharField(source="market.symbol")
    side = serializers.SerializerMethodField()
    size = AmountField()
    entry_price = AmountField()
    collateral = AmountField()
    opened_at = serializers.DateTimeField()
    mark_price = AmountField()
    mmr = AmountField(help_text="Maintenance margin rate in force, a fraction.")
    notional = RiskFigureField(source="risk.notional")
    equity = RiskFigureField(source="risk.equity")
    leverage = RiskFigureField(source="risk.leverage", help_text="Null when equity is not positive.")
    margin_ratio = RiskFigureField(source="risk.margin_ratio")
    liquidation_price = RiskFigureField(source="risk.liquidation_price")
    bankruptcy_price = RiskFigureField(source="risk.bankruptcy_price")
    distance_to_liquidation = RiskFigureField(
        source="risk.distance_to_liquidation", help_text="Fraction of the mark price; null when it cannot happen."
    )
    liquidatable = serializers.BooleanField(source="risk.liquidatable")

    def get_side(self, row: PositionRow) -> str:
        return "long" if row.is_long else "short"


class PositionPageOutput(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    unpriced_markets = serializers.ListField(
        child=serializers.CharField(), help_text="Markets left out: no mark price or no parameters in force."
    )
    results = PositionOutput(many=True)


class PositionList(APIView):
    """Open positions, filtered and sorted like the positions page; pages follow `next` / `previous`."""

    permission_classes = [AllowAny]

    @extend_schema(operation_id="positions_list", parameters=[PositionQuery], responses=PositionPageOutput)
    def get(self, request: Request) -> Response:
        states = market_states()
        query = PositionQuery(data=request.query_params, context={"symbols": {s.market.symbol for s in states}})
        query.is_valid(raise_exception=True)
        cursor = query.validated_data.get("cursor", "")
        try:
            page = open_positions_page(
                filters=query.filters(), cursor=cursor, page_size=query.validated_data["page_size"], states=states
            )
        except InvalidCursor as error:
            raise serializers.ValidationError({"cursor": [str(error)]}) from error
        url = request.build_absolute_uri()
        body: dict[str, Any] = {
            "next": _page_link(url, page.next_cursor),
            "previous": _page_link(url, page.prev_cursor),
            "unpriced_markets": [market.symbol for market in page.unpriced_markets],
            "results": PositionOutput(page.rows, many=True).data,
        }
        return Response(body)


def _page_link(url: str, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    return replace_query_param(remove_query_param(url, "cursor"), "cursor", cursor)
