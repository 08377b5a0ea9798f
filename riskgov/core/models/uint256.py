"""256-bit integers (token wei, vote weights, on-chain proposal ids) that every database keeps to the last digit.

PostgreSQL stores them as NUMERIC(78, 0), exact. SQLite gives a NUMERIC column at most 15 significant digits
(an integer past 2**63 becomes a REAL), so there the column is TEXT holding fixed-width decimal digits:
an unsigned value zero-padded to 78 digits, a signed one offset by 10**78 and padded to 79. Fixed width makes
SQLite's text comparison the numeric order, so exact, gt/lt, in, ordering, Min and Max need nothing else.

A SQL SUM over the text would go through REAL: sums use ``Uint256Sum``, which is SUM on PostgreSQL and an exact
Python aggregate on SQLite. Arithmetic in SQL on these columns (``F("votes") + 1``) is not exact on SQLite either:
compute in Python. Python values are ``Decimal`` integers, as with a ``DecimalField``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import migrations, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.signals import connection_created
from django.db.migrations.state import StateApps

UINT256_DIGITS = 78  # 2**256 - 1 has 78 decimal digits
UINT256_MAX = 2**256 - 1
INT256_MIN, INT256_MAX = -(2**255), 2**255 - 1
_SIGNED_OFFSET = 10**UINT256_DIGITS  # every int256 plus this is positive and under 2 * 10**78 (79 digits padded)
_SQLITE_SUM = {False: "riskgov_uint256_sum", True: "riskgov_int256_sum"}


def sqlite_encode(value: int, *, signed: bool) -> str:
    """The TEXT an integer is stored as on SQLite; its string order is the numeric order within 256 bits."""
    if signed:
        return str(value + _SIGNED_OFFSET).zfill(UINT256_DIGITS + 1)
    if value < 0:
        raise ValueError(f"{value} is negative: an unsigned 256-bit column cannot hold it")
    return str(value).zfill(UINT256_DIGITS)


def sqlite_decode(text: str, *, signed: bool) -> int:
    return int(text) - _SIGNED_OFFSET if signed else int(text)


def _integer(value: Decimal | int) -> int:
    if isinstance(value, int):
        return value
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError(f"{value} is not an integer: a 256-bit integer column holds whole numbers only")
    return int(value)


class Uint256Field(models.DecimalField):
    """An unsigned 256-bit integer (token wei, votes, proposal ids): NUMERIC(78, 0) on PostgreSQL, fixed-width
    TEXT on SQLite (module docstring). Values are ``Decimal`` integers."""

    description = "Unsigned 256-bit integer"
    signed = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["max_digits"] = UINT256_DIGITS
        kwargs["decimal_places"] = 0
        super().__init__(*args, **kwargs)

    @property
    def default_validators(self) -> list[Any]:  # type: ignore[override]
        low, high = (INT256_MIN, INT256_MAX) if self.signed else (0, UINT256_MAX)
        return [MinValueValidator(Decimal(low)), MaxValueValidator(Decimal(high))]

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_digits", None)
        kwargs.pop("decimal_places", None)
        return name, path, args, kwargs

    # Not "DecimalField": SQLite's backend would convert what it reads through a float of 15 digits.
    def get_internal_type(self) -> str:
        return "Int256Field" if self.signed else "Uint256Field"

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "sqlite":
            return "text"
        return connection.data_types["DecimalField"] % {"max_digits": UINT256_DIGITS, "decimal_places": 0}

    def cast_db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        return self.db_type(connection)

    def get_db_prep_value(self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False) -> Any:
        if connection.vendor != "sqlite":
            return super().get_db_prep_value(value, connection, prepared)
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or hasattr(value, "as_sql"):
            return value
        return sqlite_encode(_integer(value), signed=self.signed)

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Decimal | None:
        if value is None:
            return None
        if connection.vendor != "sqlite":
            return value if isinstance(value, Decimal) else Decimal(value)
        if isinstance(value, str):
            return Decimal(sqlite_decode(value, signed=self.signed))
        if isinstance(value, int):  # an integer SQL expression (e.g. a COALESCE default): exact
            return Decimal(value)
        raise TypeError(
            f"{value!r}: SQL arithmetic over a 256-bit integer column went through a float on SQLite; "
            "sum with Uint256Sum and compute anything else in Python"
        )


class Int256Field(Uint256Field):
    """A signed 256-bit integer (e.g. a minted or burnt supply delta), stored like ``Uint256Field``."""

    description = "Signed 256-bit integer"
    signed = True


class Uint256Sum(models.Sum):
    """``Sum`` of a ``Uint256Field`` / ``Int256Field`` column, exact on every database: SUM over NUMERIC on
    PostgreSQL, an integer sum in Python over the stored text on SQLite. Takes ``filter=`` like ``Sum``."""

    def as_sqlite(self, compiler: Any, connection: BaseDatabaseWrapper, **extra_context: Any) -> Any:
        field = self.output_field
        if isinstance(field, Uint256Field):
            extra_context["function"] = _SQLITE_SUM[field.signed]
        return self.as_sql(compiler, connection, **extra_context)


class _SqliteSum:
    """SQLite aggregate: the exact sum of stored 256-bit texts, NULL over no rows (as SUM)."""

    signed = False

    def __init__(self) -> None:
        self.total: int | None = None

    def step(self, value: str | int | float | None) -> None:
        if value is None:
            return
        if isinstance(value, float):
            raise TypeError(f"{value!r}: a 256-bit integer sum was given a float")
        number = sqlite_decode(value, signed=self.signed) if isinstance(value, str) else int(value)
        self.total = number if self.total is None else self.total + number

    def finalize(self) -> str | None:
        return None if self.total is None else sqlite_encode(self.total, signed=self.signed)


class _SqliteSignedSum(_SqliteSum):
    signed = True


def _register_sqlite_functions(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(_SQLITE_SUM[False], 1, _SqliteSum)
        connection.connection.create_aggregate(_SQLITE_SUM[True], 1, _SqliteSignedSum)


connection_created.connect(_register_sqlite_functions, dispatch_uid="riskgov.core.uint256.sqlite_functions")


def sqlite_reencode_operation(app_label: str, columns: Sequence[tuple[str, str]]) -> migrations.RunPython:
    """The migration step after altering ``columns`` ((model name, field name) pairs of ``app_label``) to
    ``Uint256Field`` / ``Int256Field``: on SQLite, rewrite what the table rebuild copied as fixed-width text
    (and back to plain digits when unapplied, before the column turns NUMERIC again); nothing on PostgreSQL."""

    def rewrite(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor, *, forward: bool) -> None:
        connection = schema_editor.connection
        if connection.vendor != "sqlite":
            return  # the NUMERIC column is unchanged
        quote = connection.ops.quote_name
        for model_name, field_name in columns:
            model = apps.get_model(app_label, model_name)
            field = model._meta.get_field(field_name)
            signed = bool(getattr(field, "signed", False))
            table, column, pk = quote(model._meta.db_table), quote(field.column), quote(model._meta.pk.column)
            with connection.cursor() as cursor:
                # identifiers from the model state only; values are parameters
                cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} IS NOT NULL")  # noqa: S608
                updates = [(_converted(value, signed=signed, forward=forward), key) for key, value in cursor.fetchall()]
                cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s", updates)  # noqa: S608

    return migrations.RunPython(partial(rewrite, forward=True), partial(rewrite, forward=False), elidable=False)


def _converted(value: Any, *, signed: bool, forward: bool) -> str:
    if forward:  # what the NUMERIC column held, copied as text by the table rebuild: "1000", "1.0e+21"
        try:
            return sqlite_encode(int(Decimal(str(value))), signed=signed)
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a number") from exc
    return str(sqlite_decode(str(value), signed=signed))  # plain digits, which the NUMERIC column takes back
