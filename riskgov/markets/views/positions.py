from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from riskgov.markets.selectors.markets import MarketState, market_states
from riskgov.markets.selectors.positions import (
    DEFAULT_SORT,
    DISTANCE_BANDS,
    LEVERAGE_BANDS,
    LONG,
    SHORT,
    SORTS,
    InvalidCursor,
    PositionFilters,
    PositionPage,
    open_positions_page,
)

SIDES = {"long": LONG, "short": SHORT}


class PositionFilterForm(forms.Form):
    market = forms.ChoiceField(required=False)
    side = forms.ChoiceField(required=False, choices=[("", "Long and short"), ("long", "Long"), ("short", "Short")])
    leverage = forms.ChoiceField(
        required=False, choices=[("", "Any leverage")] + [(k, label) for k, (label, _) in LEVERAGE_BANDS.items()]
    )
    distance = forms.ChoiceField(
        required=False,
        label="Distance to liquidation",
        choices=[("", "Any distance")] + [(k, label) for k, (label, _) in DISTANCE_BANDS.items()],
    )
    sort = forms.ChoiceField(required=False, choices=list(SORTS.items()))

    def __init__(self, *args: object, states: list[MarketState], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        market = self.fields["market"]
        if not isinstance(market, forms.ChoiceField):
            raise TypeError(f"the market filter must be a ChoiceField, not {type(market).__name__}")
        market.choices = [("", "All markets"), *((s.market.symbol, str(s.market)) for s in states)]

    def filters(self) -> PositionFilters:
        data = self.cleaned_data
        return PositionFilters(
            market=data["market"],
            side=SIDES.get(data["side"]),
            leverage_band=data["leverage"],
            distance_band=data["distance"],
            sort=data["sort"] or DEFAULT_SORT,
        )


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


@require_GET
def position_list(request: HttpRequest) -> HttpResponse:
    states = market_states()
    form = PositionFilterForm(request.GET, states=states)
    page: PositionPage | None = None
    error = ""
    number = _page_number(request.GET.get("page"))
    if form.is_valid():
        try:
            page = open_positions_page(filters=form.filters(), cursor=request.GET.get("cursor", ""), states=states)
        except InvalidCursor as exc:
            error = f"{exc} Showing the first page."
            number = 1
            page = open_positions_page(filters=form.filters(), states=states)
    query = request.GET.copy()
    for name in ("cursor", "page"):
        query.pop(name, None)
    context = {"form": form, "page": page, "page_number": number, "error": error, "query": query.urlencode()}
    partial = request.htmx and not request.htmx.history_restore_request  # type: ignore[attr-defined]
    template = "riskgov/_positions_table.html" if partial else "riskgov/position_list.html"
    response = render(request, template, context, status=200 if form.is_valid() else 400)
    patch_vary_headers(response, ["HX-Request"])
    return response
