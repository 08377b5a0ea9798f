"""Markets with their mark price and the margin parameters in force, and each market's parameter history."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from riskgov.markets.api.fields import AmountField
from riskgov.markets.models import PARAMETER_FIELDS, MarginParameters, Market
from riskgov.markets.selectors.markets import MarketState, parameter_history
from riskgov.markets.selectors.overview import MarketOverview, markets_overview


class ParametersOutput(serializers.ModelSerializer):
    """One version of a market's margin parameters; rates are fractions (0.05 = 5 %), caps quote notional."""

    market = serializers.CharField(source="market.symbol")

    class Meta:
        model = MarginParameters
        fields = [
            "market",
            "version",
            "effective_at",
            "source",
            "reason",
            "actor",
            "proposal_ref",
            "created_at",
            *PARAMETER_FIELDS,
        ]


class SnapshotStamp(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    taken_at = serializers.DateTimeField()


class MarketOutput(serializers.Serializer):
    symbol = serializers.CharField(source="market.symbol")
    name = serializers.CharField(source="market.name")
    quote_asset = serializers.CharField(source="market.quote_asset")
    chain_market_id = serializers.IntegerField(source="market.chain_market_id", allow_null=True)
    is_active = serializers.BooleanField(source="market.is_active")
    depth = AmountField(source="market.depth", help_text="Quote notional that moves the price by about 1 %.")
    reference_volatility = AmountField(source="market.reference_volatility")
    steward_min_delay_hours = serializers.IntegerField(source="market.steward_min_delay_hours")
    mark_price = AmountField(source="state.mark_price", allow_null=True, help_text="Latest price, quote per base.")
    parameters = ParametersOutput(source="state.parameters", allow_null=True, help_text="The version in force.")
    snapshot = SnapshotStamp(allow_null=True, help_text="The market's row in the latest exposure snapshot set.")


class MarketList(generics.ListAPIView):
    """Active markets, by symbol: mark price, parameters in force, latest snapshot."""

    permission_classes = [AllowAny]
    serializer_class = MarketOutput

    def get_queryset(self) -> list[MarketOverview]:  # type: ignore[override]
        if getattr(self, "swagger_fake_view", False):  # the schema generator reads the model, not rows
            return Market.objects.none()  # type: ignore[return-value]
        return markets_overview()


def _market(symbol: str) -> Market:
    return get_object_or_404(Market, symbol__iexact=symbol)


class MarketDetail(generics.GenericAPIView):
    permission_classes = [AllowAny]
    serializer_class = MarketOutput
    pagination_class = None

    def get(self, request: Request, symbol: str) -> Response:
        market = _market(symbol)
        overview = next((row for row in markets_overview() if row.market.pk == market.pk), None)
        if overview is None:  # an inactive market: no mark or parameters in force are tracked
            overview = MarketOverview(state=MarketState(market, None, None), snapshot=None)
        return Response(MarketOutput(overview).data)


class MarketParameterHistory(generics.ListAPIView):
    """Every version of the market's margin parameters, newest first (including ones not yet in force)."""

    permission_classes = [AllowAny]
    serializer_class = ParametersOutput

    def get_queryset(self) -> QuerySet[MarginParameters]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator reads the model, not rows
            return MarginParameters.objects.none()
        return parameter_history(_market(self.kwargs["symbol"])).select_related("market")

    @extend_schema(operation_id="markets_parameters_list")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)
