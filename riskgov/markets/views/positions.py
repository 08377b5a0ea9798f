from __future__ import annotations

import csv
from collections.abc import Iterator

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from riskgov.markets.models import Account
from riskgov.markets.selectors.accounts import account_overview
from riskgov.markets.selectors.markets import MarketState, market_states
from riskgov.markets.selectors.positions import (
    ASCENDING,
    DEFAULT_SORT,
    DESCENDING,
    DISTANCE_BANDS,
    LEVERAGE_BANDS,
    LONG,
    NATURAL_ORDER,
    SHORT,
    SORTS,
    AccountMatch,
    InvalidCursor,
    PositionFilters,
    PositionPage,
    PositionTotal,
    accounts_matching,
    open_positions_page,
    open_positions_total,
)
from riskgov.markets.selectors.positions_export import open_positions_csv_rows

SIDES = {"long": LONG, "short": SHORT}
ACCOUNT_SEARCH_MAX = 64


class PositionFilterForm(forms.Form):
    account = forms.CharField(
        required=False,
        max_length=ACCOUNT_SEARCH_MAX,
        strip=True,
        label="Account",
        widget=forms.TextInput(attrs={"placeholder": "0x… address or label", "autocomplete": "off"}),
    )
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
    order = forms.ChoiceField(
        required=False,
        choices=[("", "The sort's own order"), (ASCENDING, "Ascending"), (DESCENDING, "Descending")],
    )

    def __init__(self, *args: object, states: list[MarketState], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        market = self.fields["market"]
        if not isinstance(market, forms.ChoiceField):
            raise TypeError(f"the market filter must be a ChoiceField, not {type(market).__name__}")
        market.choices = [("", "All markets"), *((s.market.symbol, str(s.market)) for s in states)]
        self.accounts = AccountMatch(ids=None)

    def clean_account(self) -> str:
        search: str = self.cleaned_data["account"]
        self.accounts = accounts_matching(search)
        return search

    def filters(self) -> PositionFilters:
        data = self.cleaned_data
        return PositionFilters(
            market=data["market"],
            side=SIDES.get(data["side"]),
            leverage_band=data["leverage"],
            distance_band=data["distance"],
            sort=data["sort"] or DEFAULT_SORT,
            order=data["order"],
            account_ids=self.accounts.ids,
        )


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _sort_links(request: HttpRequest, filters: PositionFilters) -> dict[str, dict[str, str]]:
    """Per sort: the query string that sorts by it (the other direction when it is the current sort),
    its aria-sort value and an arrow."""
    links: dict[str, dict[str, str]] = {}
    for sort in SORTS:
        query = request.GET.copy()
        for name in ("cursor", "page", "sort", "order"):
            query.pop(name, None)
        current = sort == filters.sort
        flipped = ASCENDING if filters.direction == DESCENDING else DESCENDING
        query["sort"], query["order"] = sort, flipped if current else NATURAL_ORDER[sort]
        aria = "none"
        if current:
            aria = "ascending" if filters.direction == ASCENDING else "descending"
        arrow = {"ascending": "▲", "descending": "▼"}.get(aria, "")
        links[sort] = {"query": query.urlencode(), "aria": aria, "arrow": arrow}
    return links


@require_GET
def position_list(request: HttpRequest) -> HttpResponse:
    states = market_states()
    form = PositionFilterForm(request.GET, states=states)
    page: PositionPage | None = None
    total: PositionTotal | None = None
    error = ""
    sort_links: dict[str, dict[str, str]] = {}
    number = _page_number(request.GET.get("page"))
    if form.is_valid():
        filters = form.filters()
        try:
            page = open_positions_page(filters=filters, cursor=request.GET.get("cursor", ""), states=states)
        except InvalidCursor as exc:
            error = f"{exc} Showing the first page."
            number = 1
            page = open_positions_page(filters=filters, states=states)
        total = open_positions_total(filters=filters, states=states)
        sort_links = _sort_links(request, filters)
    query = request.GET.copy()
    for name in ("cursor", "page"):
        query.pop(name, None)
    context = {
        "form": form,
        "page": page,
        "page_number": number,
        "total": total,
        "error": error,
        "query": query.urlencode(),
        "sort_links": sort_links,
        "accounts_truncated": form.accounts.truncated,
        "account_limit": form.accounts.limit,
        "filters": form.filters() if form.is_valid() else None,
        "sort_label": SORTS[form.cleaned_data.get("sort") or DEFAULT_SORT] if form.is_valid() else "",
    }
    partial = request.htmx and not request.htmx.history_restore_request  # type: ignore[attr-defined]
    template = "riskgov/_positions_table.html" if partial else "riskgov/position_list.html"
    response = render(request, template, context, status=200 if form.is_valid() else 400)
    patch_vary_headers(response, ["HX-Request"])
    return response


class _Echo:
    """A file-like object whose write returns the line, so csv.writer produces strings to stream."""

    def write(self, value: str) -> str:
        return value


@require_GET
def position_export_csv(request: HttpRequest) -> HttpResponseBase:
    """The open positions of the list's current filters and order as CSV, streamed page by page."""
    states = market_states()
    form = PositionFilterForm(request.GET, states=states)
    if not form.is_valid():
        reasons = "; ".join(f"{name}: {' '.join(str(e) for e in errors)}" for name, errors in form.errors.items())
        return HttpResponse(f"These filters cannot be applied: {reasons}", status=400, content_type="text/plain")
    writer = csv.writer(_Echo())
    rows = open_positions_csv_rows(filters=form.filters(), states=states)

    def lines() -> Iterator[str]:
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="open-positions-{stamp}.csv"'
    return response


@require_GET
def account_detail(request: HttpRequest, address: str) -> HttpResponse:
    account = Account.objects.filter(address__iexact=address).first()
    if account is None:
        raise Http404("No account with this address.")
    return render(request, "riskgov/account_detail.html", {"overview": account_overview(account=account)})
