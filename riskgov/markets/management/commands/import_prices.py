from riskgov.markets.management.commands._import_base import ImportCommand
from riskgov.markets.services.imports import ImportKind


class Command(ImportCommand):
    help = (
        "Import price observations from CSV or JSON, upserting by (market, source, observed_at). Columns: market, "
        "price (quote per base unit), observed_at (ISO-8601 with zone or Z), source (default import), round_id. "
        "A file with any bad row changes nothing."
    )
    kind = ImportKind.PRICES
