"""Server-side charts for reports: matplotlib (Agg, no pyplot state) to inline SVG for pages, e-mail and PDF.

Amounts are quote units; axes show compact dollars ($1.2M). Each function returns an `<svg>` element
that scales to its container's width.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import rc_context
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

LONG = "#0f9d6b"
SHORT = "#d94848"
ACCENT = "#2f5bea"
WARN = "#c77700"
GRID = "#e2e6ec"
TEXT = "#1b2330"
MUTED = "#667085"

_STYLE: Any = {
    "svg.fonttype": "none",  # keep text as text: smaller files, selectable in the PDF
    "svg.hashsalt": "riskgov-report",  # stable element ids, so the same figures give the same SVG
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.edgecolor": GRID,
    "axes.labelcolor": MUTED,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlecolor": TEXT,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": GRID,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "legend.fontsize": 8,
}
_SIZE_ATTRS = re.compile(r'<svg([^>]*?)\swidth="[^"]*"\sheight="[^"]*"')
_ID = re.compile(r'\bid="([^"]+)"')


def compact_usd(value: float, _position: object = None) -> str:
    sign = "−" if value < 0 else ""
    amount = abs(value)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if amount >= threshold:
            return f"{sign}${amount / threshold:.3g}{suffix}"
    return f"{sign}${amount:.0f}"


def _scoped_ids(svg: str, scope: str) -> str:
    """Prefix every element id and reference with `scope`: several charts share one HTML page, and
    matplotlib numbers ids per figure (a clip path of one chart must never clip another)."""
    ids = set(_ID.findall(svg))
    if not ids:
        return svg
    names = "|".join(re.escape(name) for name in sorted(ids, key=len, reverse=True))
    svg = re.sub(rf'\bid="({names})"', rf'id="{scope}-\1"', svg)
    return re.sub(rf"#({names})(?=[\"')])", rf"#{scope}-\1", svg)


def _svg(figure: Figure, scope: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and doctype: the SVG is inlined in HTML
    svg = _SIZE_ATTRS.sub(r'<svg\1 width="100%" preserveAspectRatio="xMidYMid meet"', svg, count=1)
    return _scoped_ids(svg, re.sub(r"[^a-z0-9]+", "-", scope.lower()).strip("-"))


HALF = (4.6, 2.9)  # charts shown two to a row


def _figure(width: float = 7.2, height: float = 2.6) -> Figure:
    return Figure(figsize=(width, height), dpi=72, layout="constrained")


def chart_open_interest(
    *, scope: str = "oi", markets: Sequence[str], long: Sequence[float], short: Sequence[float]
) -> str:
    """Grouped bars: long and short open interest per market."""
    with rc_context(_STYLE):
        figure = _figure(*HALF)
        axes = figure.add_subplot()
        positions = range(len(markets))
        axes.bar([p - 0.2 for p in positions], long, width=0.4, color=LONG, label="Long OI")
        axes.bar([p + 0.2 for p in positions], short, width=0.4, color=SHORT, label="Short OI")
        axes.set_xticks(list(positions), list(markets))
        axes.yaxis.set_major_formatter(FuncFormatter(compact_usd))
        axes.set_title("Open interest per market", loc="left")
        axes.legend(loc="upper right")
        return _svg(figure, scope)


def chart_leverage(
    *, scope: str = "leverage", labels: Sequence[str], counts: Sequence[int], title: str = "Leverage distribution"
) -> str:
    """Bars: positions per leverage band."""
    with rc_context(_STYLE):
        figure = _figure(*HALF)
        axes = figure.add_subplot()
        axes.bar(range(len(labels)), counts, color=ACCENT, width=0.7)
        axes.set_xticks(list(range(len(labels))), list(labels), rotation=45, ha="right")
        axes.tick_params(axis="x", labelsize=7)
        axes.set_ylabel("positions")
        axes.set_title(title, loc="left")
        return _svg(figure, scope)


def chart_shocks(*, scope: str = "shocks", labels: Sequence[str], bad_debt: Sequence[float]) -> str:
    """Bars: bad debt under each uniform price shock."""
    with rc_context(_STYLE):
        figure = _figure(*HALF)
        axes = figure.add_subplot()
        axes.bar(range(len(labels)), bad_debt, color=SHORT, width=0.6)
        axes.set_xticks(list(range(len(labels))), list(labels))
        axes.yaxis.set_major_formatter(FuncFormatter(compact_usd))
        axes.set_xlabel("price move (all markets at once)")
        axes.set_title("Bad debt under price shocks", loc="left")
        return _svg(figure, scope)


def chart_history(
    *,
    scope: str = "history",
    times: Sequence[datetime],
    long: Sequence[float],
    short: Sequence[float],
    near10: Sequence[float],
    title: str = "Exposure over the period",
    half: bool = False,
) -> str:
    """Lines over the period: long and short OI and the notional within 10 % of liquidation."""
    with rc_context(_STYLE):
        figure = _figure(*HALF) if half else _figure()
        axes = figure.add_subplot()
        when: Any = list(times)
        axes.plot(when, long, color=LONG, label="Long OI", linewidth=1.4)
        axes.plot(when, short, color=SHORT, label="Short OI", linewidth=1.4)
        axes.plot(when, near10, color=WARN, label="Within 10 % of liquidation", linewidth=1.2, linestyle="--")
        locator = AutoDateLocator(maxticks=8)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        axes.yaxis.set_major_formatter(FuncFormatter(compact_usd))
        axes.set_ylim(bottom=0)
        axes.set_title(title, loc="left")
        axes.legend(loc="lower left", ncols=2 if half else 3)
        return _svg(figure, scope)


def chart_coverage_trend(
    *,
    scope: str = "coverage-trend",
    times: Sequence[datetime],
    es99: Sequence[float | None],
    required_fund: Sequence[float | None],
    exhaustion_probability: Sequence[float | None],
) -> str:
    """Lines across baseline runs: ES99 and the required fund (left, dollars), P(exhaustion) (right, percent)."""
    with rc_context(_STYLE):
        figure = _figure()
        axes = figure.add_subplot()
        when: Any = list(times)
        nan = float("nan")
        axes.plot(when, [nan if v is None else v for v in es99], color=SHORT, label="ES99 bad debt", linewidth=1.4)
        axes.plot(
            when,
            [nan if v is None else v for v in required_fund],
            color=ACCENT,
            label="Required fund",
            linewidth=1.4,
        )
        axes.yaxis.set_major_formatter(FuncFormatter(compact_usd))
        axes.set_ylim(bottom=0)
        right = axes.twinx()
        right.plot(
            when,
            [nan if v is None else 100 * v for v in exhaustion_probability],
            color=WARN,
            label="P(fund exhausted)",
            linewidth=1.2,
            linestyle="--",
        )
        right.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:.2g} %"))
        right.set_ylim(bottom=0)
        right.grid(False)
        locator = AutoDateLocator(maxticks=8)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        axes.set_title("Coverage across baseline runs", loc="left")
        lines = axes.get_lines() + right.get_lines()
        axes.legend(lines, [str(line.get_label()) for line in lines], loc="upper left", ncols=3)
        return _svg(figure, scope)
