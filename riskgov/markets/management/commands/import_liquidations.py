from typing import BinaryIO

from riskgov.markets.management.commands._import_base import ImportCommand
from riskgov.markets.services.imports import ImportResult, Progress
from riskgov.markets.services.liquidation_imports import LIQUIDATIONS_KIND, liquidations_import_file


class Command(ImportCommand):
    help = (
        "Import realised liquidation history from CSV or JSON, upserting by external_id. Columns: external_id, "
        "market, liquidated_at (ISO-8601 with zone or Z), size (signed base units), price (execution price), "
        "bad_debt (quote units) are required; account, entry_price and collateral (both or neither), penalty, "
        "liquidator, tx_hash optional. A file with any bad row changes nothing."
    )
    kind = LIQUIDATIONS_KIND

    def run_import(self, *, content: BinaryIO, fmt: str, progress: Progress) -> ImportResult:
        return liquidations_import_file(content=content, fmt=fmt, progress=progress)
