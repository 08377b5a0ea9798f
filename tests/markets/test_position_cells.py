"""The positions table writes each row's cells formatted in Python; the row markup with the display filters
(what the table was written as, and what a reader checks it against) is the reference."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string

from riskgov.markets.selectors.positions import PositionFilters, open_positions_page
from tests.markets.views_helpers import build_hand_made

REFERENCE_ROWS = Template(
    """{% load riskgov_format %}
      {% for row in rows %}
        {% with r=row.risk %}
        <tr{% if r.liquidatable %} class="row-liquidatable"{% endif %} data-position="{{ row.external_id }}">
          <td class="mono small" data-label="Position" title="{{ row.external_id }}">{{ row.external_id|truncatechars:22 }}</td>
          {% if not hide_account %}<td class="mono small" data-label="Account"><a href="{% url 'riskgov:account-detail' row.account_address %}" title="{{ row.account_address }}">{{ row.account_address|short_address }}</a></td>{% endif %}
          {% if not hide_market %}<td data-label="Market"><a href="{% url 'riskgov:market-detail' row.market.symbol %}">{{ row.market }}</a></td>{% endif %}
          <td data-label="Side">{% if row.is_long %}<span class="badge badge-long">Long</span>{% else %}<span class="badge badge-short">Short</span>{% endif %}</td>
          <td class="num" data-label="Size">{{ row.quantity|quantity }}</td>
          <td class="num" data-label="Entry">{{ row.entry_price|price }}</td>
          <td class="num" data-label="Mark">{{ row.mark_price|price }}</td>
          <td class="num" data-label="Notional">{{ r.notional|usd }}</td>
          <td class="num" data-label="Collateral">{{ row.collateral|usd }}</td>
          <td class="num {{ row.unrealised_pnl|trend }}" data-label="Unrealised PnL" title="size × (mark − entry)">{{ row.unrealised_pnl|signed_usd }}</td>
          <td class="num" data-label="Leverage">{{ r.leverage|leverage }}</td>
          <td class="num" data-label="Margin ratio">{{ r.margin_ratio|pct }}</td>
          <td class="num" data-label="Liq. price">{% if r.liquidation_price > 0 %}{{ r.liquidation_price|price }}{% else %}<span class="muted" title="A long at or below 1x cannot be liquidated">none</span>{% endif %}</td>
          <td class="num" data-label="To liquidation">{% if r.liquidatable %}<span class="badge badge-danger" title="Liquidatable now: equity below maintenance margin">{{ r.distance_to_liquidation|pct:1 }}</span>{% else %}<span class="distance{% if r.distance_to_liquidation < 0.05 %} danger{% elif r.distance_to_liquidation < 0.2 %} warn{% endif %}">{{ r.distance_to_liquidation|pct:1 }}</span>{% endif %}</td>
          <td class="nowrap small" data-label="Opened" title="{{ row.opened_at|date:'Y-m-d H:i' }} UTC">{{ row.opened_at|date:"Y-m-d" }}</td>
        </tr>
        {% endwith %}
      {% endfor %}"""
)


def tbody(html: str) -> str:
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0].strip()


@pytest.mark.parametrize("hide", [{}, {"hide_market": True}, {"hide_account": True}])
@pytest.mark.parametrize("sort", ["liquidation", "newest"])
def test_cells_are_what_the_display_filters_write(db, hide, sort):
    build_hand_made()  # every leverage band, both sides, liquidatable and unreachable liquidation prices
    rows = open_positions_page(filters=PositionFilters(sort=sort)).rows
    assert len(rows) == 15
    context = {"rows": rows, "sort_links": {}, **hide}
    assert tbody(render_to_string("riskgov/_positions_rows.html", context)) == REFERENCE_ROWS.render(
        Context(context)
    ).replace("{% load riskgov_format %}", "").strip()
