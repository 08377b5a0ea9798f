"""The positions table writes each row's cells formatted in Python; the row markup with the display filters
(what the table was written as, and what a reader checks it against) is the reference."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string

from riskgov.markets.selectors.positions import PositionFilters, open_positions_page
from tests.markets.views_helpers import build_hand_made

REFERENCE_ROWS = Template((Path(__file__).parent / "reference_position_rows.html").read_text())


def tbody(html: str) -> str:
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0].strip()


@pytest.mark.parametrize("hide", [{}, {"hide_market": True}, {"hide_account": True}])
@pytest.mark.parametrize("sort", ["liquidation", "newest"])
def test_cells_are_what_the_display_filters_write(db, hide, sort):
    build_hand_made()  # every leverage band, both sides, liquidatable and unreachable liquidation prices
    rows = open_positions_page(filters=PositionFilters(sort=sort)).rows
    assert len(rows) == 15
    context = {"rows": rows, "sort_links": {}, **hide}
    assert (
        tbody(render_to_string("riskgov/_positions_rows.html", context))
        == REFERENCE_ROWS.render(Context(context)).strip()
    )


def test_markup_in_a_position_id_is_escaped_as_the_template_escapes_it(db):
    expected = build_hand_made()
    position = expected[0].position
    position.external_id = "<b>x&y</b>\"quoted\" 'single'"
    position.save(update_fields=["external_id"])
    rows = open_positions_page(filters=PositionFilters(sort="newest")).rows
    context = {"rows": rows, "sort_links": {}}
    html = tbody(render_to_string("riskgov/_positions_rows.html", context))
    assert html == REFERENCE_ROWS.render(Context(context)).strip()
    assert "&lt;b&gt;x&amp;y&lt;/b&gt;&quot;quoted&quot; &#x27;single&#x27;" in html and "<b>x" not in html
