"""Set-based inserts and updates for large imports and seeding.

Django's bulk_update builds a CASE expression per object and field (minutes for 100k rows) and
bulk_create renders one placeholder per value. On PostgreSQL both become one statement per batch
over `unnest` of one array per column; SQLite gets multi-row VALUES lists. Callers pass plain
tuples in `fields` order and run inside their own transaction.

The SQL text holds only identifiers from model metadata (table and column names quoted with
`connection.ops.quote_name`, column types from `Field.db_type`) and generated aliases; every value is a
query parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection, models

POSTGRES_BATCH = 10_000


def _columns(model: type[models.Model], fields: Sequence[str]) -> list[models.Field]:
    return [model._meta.get_field(name) for name in fields]  # type: ignore[misc]


def _batches(rows: Sequence[tuple[Any, ...]], width: int) -> Iterator[Sequence[tuple[Any, ...]]]:
    if connection.vendor == "postgresql":
        size = POSTGRES_BATCH
    else:
        size = max(1, (connection.features.max_query_params or 999) // width)
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _params(columns: list[models.Field], rows: Sequence[tuple[Any, ...]]) -> list[Any]:
    if connection.vendor == "postgresql":  # psycopg adapts Decimal, datetime, int and str to arrays itself
        return [list(column) for column in zip(*rows, strict=True)]
    prepped = [
        [field.get_db_prep_save(value, connection) for value in column]
        for field, column in zip(columns, zip(*rows, strict=True), strict=True)
    ]
    return [column[index] for index in range(len(rows)) for column in prepped]


def _source(columns: list[models.Field], count: int) -> str:
    """A row source for `count` rows: unnest of typed arrays (PostgreSQL) or a VALUES list."""
    if connection.vendor == "postgresql":
        return "unnest(" + ", ".join(f"CAST(%s AS {field.db_type(connection)}[])" for field in columns) + ")"
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return "(VALUES " + ", ".join([row] * count) + ")"


def rows_insert(model: type[models.Model], fields: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert `rows` (values in `fields` order); defaults and auto_now are the caller's job. Returns the count."""
    columns = _columns(model, fields)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(field.column) for field in columns)
    with connection.cursor() as cursor:
        for batch in _batches(rows, len(columns)):
            source = _source(columns, len(batch))
            sql = f"INSERT INTO {table} ({names}) SELECT * FROM {source} AS incoming"  # noqa: S608 - see module docstring
            cursor.execute(sql, _params(columns, batch))
    return len(rows)


def rows_update(model: type[models.Model], fields: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> int:
    """Set `fields` of each row given as (pk, *values in `fields` order). Returns the count."""
    columns = [model._meta.pk, *_columns(model, fields)]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    aliases = [f"v{index}" for index in range(len(columns))]
    assignments = ", ".join(
        f"{quote(field.column)} = incoming.{alias}" for field, alias in zip(columns[1:], aliases[1:], strict=True)
    )
    where = f"{table}.{quote(model._meta.pk.column)} = incoming.v0"
    with connection.cursor() as cursor:
        for batch in _batches(rows, len(columns)):
            source = _source(columns, len(batch))
            # quoted model identifiers and generated aliases only; the values are parameters
            if connection.vendor == "postgresql":
                sql = (
                    f"UPDATE {table} SET {assignments} FROM {source} AS incoming ({', '.join(aliases)}) "  # noqa: S608
                    f"WHERE {where}"
                )
            else:
                sql = (
                    f"WITH incoming ({', '.join(aliases)}) AS (SELECT * FROM {source}) "  # noqa: S608
                    f"UPDATE {table} SET {assignments} FROM incoming WHERE {where}"
                )
            cursor.execute(sql, _params(columns, batch))
    return len(rows)
