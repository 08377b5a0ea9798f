"""Turning a frozen report into its formats: HTML body, e-mail parts, CSV, JSON and PDF.

Everything is derived from `ExposureReport.content` and `.charts`, never from live data, so every
format of a report shows the same figures whenever it is rendered.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils.text import slugify

from riskgov.core.formatting import plain
from riskgov.core.links import site_base_url
from riskgov.reports.models import ExposureReport


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _shock_label(move: str) -> str:
    return f"{int(move):+d} %"


def report_view(content: dict[str, Any]) -> dict[str, Any]:
    """The content reshaped for templates: instants as datetimes, shock rows and near-liquidation bands as lists."""
    moves = content["shock_moves"]
    markets = []
    for market in content["markets"]:
        near = market["near_liquidation"]
        markets.append(
            {
                **market,
                "near_bands": [(band, near[band]["count"], near[band]["notional"]) for band in near],
                "shock_row": [market["shocks"][m] for m in moves],
            }
        )
    near = content.get("near_liquidation") or {}
    insurance = content.get("insurance")
    run = (insurance or {}).get("run")
    return {
        **content,
        "period_start": _when(content["period"]["start"]),
        "period_end": _when(content["period"]["end"]),
        "snapshot_taken_at": _when((content.get("snapshot") or {}).get("taken_at")),
        "snapshot_failing_since": _when((content.get("snapshot_failing") or {}).get("since")),
        "previous_taken_at": _when((content.get("previous") or {}).get("taken_at")),
        "near_bands": [(band, near[band]["count"], near[band]["notional"]) for band in near],
        "shock_labels": [_shock_label(m) for m in moves],
        "shock_row": [content["shocks"].get(m, "0") for m in moves],
        "markets": markets,
        "run_finished_at": _when((run or {}).get("finished_at")),
        "stress": None
        if "stress" not in content
        else [{**row, "finished_at": _when(row["finished_at"])} for row in content["stress"]],
        "proposals": [
            {**proposal, "voting_ends_at": _when(proposal["voting_ends_at"])}
            for proposal in content.get("proposals", [])
        ],
        "parameter_changes": [
            {**change, "effective_at": _when(change["effective_at"]), "changes": list(change["changes"].items())}
            for change in content["parameter_changes"]
        ],
    }


def report_document_render(*, content: dict[str, Any], charts: dict[str, str], link_base: str = "") -> str:
    """The report body (figures, tables and inline SVG charts). `link_base` prefixes site links."""
    return render_to_string(
        "reports/_document.html", {"report": report_view(content), "charts": charts, "link_base": link_base}
    )


def report_filename(report: ExposureReport, extension: str) -> str:
    return f"exposure-report-{slugify(report.schedule.name)}-{report.period_label}.{extension}"


MARKET_CSV_FIGURES = (
    "mark_price",
    "oi_long",
    "oi_short",
    "oi_net",
    "collateral",
    "position_count",
    "account_count",
    "leverage_p50",
    "leverage_p90",
    "leverage_p99",
    "top10_share",
    "hhi",
    "liquidatable_count",
    "liquidatable_notional",
    "oi_cap",
    "oi_cap_share",
)

CsvRow = list[Any]


def report_csv(report: ExposureReport) -> str:
    """One row per figure: section, scope, metric, value (quote units; shares as fractions)."""
    content = report.content
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "scope", "metric", "value"])
    for rows in (
        _report_rows(content),
        _protocol_rows(content),
        _market_rows(content),
        _insurance_rows(content),
        _stress_rows(content),
        _governance_rows(content),
        (["alert", alert["scope"], alert["code"], alert["message"]] for alert in content["alerts"]),
    ):
        writer.writerows([*row[:3], _cell(row[3])] for row in rows)
    return buffer.getvalue()


def _report_rows(content: dict[str, Any]) -> Iterator[CsvRow]:
    period = content["period"]
    yield ["report", "", "schedule", content["schedule"]["name"]]
    yield ["report", "", "period", period["label"]]
    yield ["report", "", "period_start", period["start"]]
    yield ["report", "", "period_end", period["end"]]
    yield ["report", "", "has_data", str(content["has_data"]).lower()]
    yield ["report", "", "snapshot_taken_at", (content.get("snapshot") or {}).get("taken_at", "")]


def _protocol_rows(content: dict[str, Any]) -> Iterator[CsvRow]:
    if not content["headline"]:
        return
    for name, value in content["headline"].items():
        yield ["headline", "ALL", name, _cell(value)]
    for name, value in (content.get("change") or {}).items():
        yield ["change", "ALL", name, _cell(value)]
    for band, figures in content["near_liquidation"].items():
        yield ["near_liquidation", "ALL", f"within_{band}pct_count", figures["count"]]
        yield ["near_liquidation", "ALL", f"within_{band}pct_notional", figures["notional"]]
    for move, bad_debt in content["shocks"].items():
        yield ["shock_bad_debt", "ALL", f"{int(move):+d}pct", bad_debt]
    for rank, top in enumerate(content["top_accounts"], start=1):
        yield ["top_accounts", "ALL", f"{rank}:{top['address']}", top["notional"]]


def _market_rows(content: dict[str, Any]) -> Iterator[CsvRow]:
    for market in content["markets"]:
        symbol = market["symbol"]
        for name in MARKET_CSV_FIGURES:
            yield ["market", symbol, name, _cell(market[name])]
        for band, figures in market["near_liquidation"].items():
            yield ["near_liquidation", symbol, f"within_{band}pct_notional", figures["notional"]]
        for move, bad_debt in market["shocks"].items():
            yield ["shock_bad_debt", symbol, f"{int(move):+d}pct", bad_debt]


def _insurance_rows(content: dict[str, Any]) -> Iterator[CsvRow]:
    insurance = content.get("insurance")
    if not insurance:
        return
    yield ["insurance", insurance["fund"], "fund_balance", insurance["balance"]]
    for name, value in (insurance.get("run") or {}).items():
        yield ["coverage_run", insurance["fund"], name, _cell(value)]
    for point in insurance.get("trend") or []:
        for name, value in point.items():
            if name != "run_id":
                yield ["coverage_trend", f"run {point['run_id']}", name, _cell(value)]


def _stress_rows(content: dict[str, Any]) -> Iterator[CsvRow]:
    """The stress table: one row per figure of each scenario's latest stress run."""
    for row in content.get("stress") or []:
        for name, value in row.items():
            if name not in ("scenario", "url"):
                yield ["stress", row["scenario"], name, _cell(value)]


def _governance_rows(content: dict[str, Any]) -> Iterator[CsvRow]:
    for change in content["parameter_changes"]:
        for name, (old, new) in change["changes"].items():
            yield [
                "parameter_change",
                change["market"],
                f"v{change['version']}:{name}",
                f"{_cell(old)} -> {_cell(new)} ({change['source']})",
            ]
    for proposal in content.get("proposals", []):
        yield ["proposal", ",".join(proposal["markets"]), f"{proposal['ref']} {proposal['title']}", proposal["state"]]


NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


def _cell(value: Any) -> str:
    """A CSV value: numbers (and the numeric strings a report's stored content holds) as plain decimals, so a
    cell never reads 2E+2, 0E-18, 1e-05 or 0.050000000000000000."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Decimal | float | int) or (isinstance(value, str) and NUMBER.fullmatch(value)):
        return plain(value)
    return str(value)


def report_json(report: ExposureReport) -> str:
    return json.dumps(report.content, indent=2, sort_keys=True, default=_json_default)


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal | datetime):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def report_pdf(report: ExposureReport) -> bytes:
    """The report as an A4 PDF (WeasyPrint), charts included as vector graphics."""
    from weasyprint import HTML  # noqa: PLC0415  (loads Pango's C libraries, which only the PDF download needs)

    base = site_base_url()
    # WeasyPrint logs every SVG presentation attribute its HTML CSS parser skips; only errors matter here
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    html = render_to_string(
        "reports/report_pdf.html",
        {
            "report": report,
            "document": report_document_render(content=report.content, charts=report.charts, link_base=base),
        },
    )
    return bytes(HTML(string=html, base_url=base).write_pdf())
