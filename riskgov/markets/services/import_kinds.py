"""The one door for importing a file of any kind: positions, prices (imports.py) or liquidation history
(liquidation_imports.py). The upload page, the import jobs and the commands all go through it."""

from __future__ import annotations

from riskgov.markets.services.imports import Content, ImportKind, ImportRejected, ImportResult, Progress, RowError
from riskgov.markets.services.imports import import_file as positions_or_prices_import_file
from riskgov.markets.services.liquidation_imports import LIQUIDATIONS_KIND, liquidations_import_file

IMPORT_KINDS = (ImportKind.POSITIONS.value, ImportKind.PRICES.value, LIQUIDATIONS_KIND)


def import_file_of_kind(*, kind: str, content: Content, fmt: str, progress: Progress | None = None) -> ImportResult:
    """Import `content` (csv or json) as `kind`; all or nothing. Raises ImportRejected naming rows and fields."""
    if kind == LIQUIDATIONS_KIND:
        return liquidations_import_file(content=content, fmt=fmt, progress=progress)
    if kind in IMPORT_KINDS:
        return positions_or_prices_import_file(kind=kind, content=content, fmt=fmt, progress=progress)
    raise ImportRejected([RowError(None, None, f"unknown import kind {kind!r}: use {', '.join(IMPORT_KINDS)}")])
