from riskgov.markets.management.commands._import_base import ImportCommand
from riskgov.markets.services.imports import ImportKind


class Command(ImportCommand):
    help = (
        "Import positions from CSV or JSON, upserting by external_id. Columns: external_id, account, market, size "
        "(signed base units), entry_price, collateral (quote units), status (open|closed|liquidated, default open), "
        "opened_at (ISO-8601, default now, UTC when no zone). A file with any bad row changes nothing."
    )
    kind = ImportKind.POSITIONS
