"""The liquidation map and the shock table of a snapshot set, as tables (the dashboard draws the same figures).

Both read only the snapshot rows' JSON: moves are percent (−50 … +50), amounts quote units at the marks the
snapshot was taken at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from riskgov.markets.models import ExposureSnapshot


@dataclass(frozen=True)
class ScopeSeries:
    scope: str  # a market symbol, or "ALL" for the protocol
    values: list[float]


@dataclass(frozen=True)
class MoveTable:
    """One row of amounts per scope, one column per price move (percent)."""

    taken_at: datetime | None
    moves_pct: list[float]
    rows: list[ScopeSeries]


def liquidation_map_table(snapshots: list[ExposureSnapshot]) -> MoveTable:
    """Notional liquidated by a uniform price move, per row of the set that has a map (protocol row first)."""
    moves: list[float] = []
    rows = []
    for snapshot in snapshots:
        grid = snapshot.liquidation_map or {}
        if not grid.get("moves_pct"):
            continue
        moves = moves or [float(m) for m in grid["moves_pct"]]
        rows.append(ScopeSeries(scope=snapshot.scope, values=[float(v) for v in grid["notional"]]))
    return MoveTable(taken_at=snapshots[0].taken_at if snapshots else None, moves_pct=moves, rows=rows)


def shock_table(snapshots: list[ExposureSnapshot]) -> MoveTable:
    """Instantaneous bad debt if every price moved at once by each shock, per row of the set (protocol first)."""
    if not snapshots:
        return MoveTable(taken_at=None, moves_pct=[], rows=[])
    keys = sorted(snapshots[0].shock_bad_debt, key=float)
    rows = [
        ScopeSeries(scope=s.scope, values=[float(s.shock_bad_debt.get(key, 0.0)) for key in keys]) for s in snapshots
    ]
    return MoveTable(taken_at=snapshots[0].taken_at, moves_pct=[float(key) for key in keys], rows=rows)
