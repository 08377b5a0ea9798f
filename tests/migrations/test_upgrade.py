"""A database at the schema from before `riskgov` was split into apps, with data, upgrades in place.

Every row stays as it was, foreign keys resolve across the new apps, audit records and content types
are relabelled (same content type ids, so a group's permissions and the admin log still point at the
right model), the application's own code finds what it looks for, and migrating back to the nodes from
before the split restores the old labels.

Each phase runs ``tests.migrations.upgrade_scenario`` in a subprocess on a scratch database of its own —
on PostgreSQL one created and dropped here, on SQLite a temporary file — never on the suite's test
database: the data migrations write through the default connection of the process that runs them.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import REPO_ROOT, require_service
from tests.migrations.upgrade_scenario import NEW_APPS

SCENARIO_TIMEOUT = 240  # seconds; the scenario takes 15 to 60 depending on the machine's load
Tables = dict[str, dict[str, dict[str, Any]]]


def run_scenario(database_url: str, out_dir: Path) -> tuple[dict[str, Any], str]:
    """Seed, upgrade and downgrade the database at `database_url` in a process of its own.

    Returns the results of the phases that finished, and the process's output if one failed.
    """
    out = out_dir / "upgrade-scenario.json"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url}
    completed = subprocess.run(
        [sys.executable, "-m", "tests.migrations.upgrade_scenario", str(out)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT,
        check=False,
    )
    phases = json.loads(out.read_text()) if out.exists() else {}
    failure = "" if completed.returncode == 0 else completed.stdout[-3000:] + completed.stderr[-8000:]
    return phases, failure


# ------------------------------------------------------------------ databases


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"


def _postgres_server() -> dict[str, Any]:
    """The suite's PostgreSQL server when it runs on one, else the local default."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        return {
            "host": db["HOST"] or "127.0.0.1",
            "port": int(db["PORT"] or 5432),
            "user": db["USER"] or "postgres",
            "password": db["PASSWORD"] or "",
        }
    return {"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": ""}


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A scratch PostgreSQL database, unique to this run, dropped afterwards."""
    import psycopg
    from psycopg import sql

    server = _postgres_server()
    name = f"riskgov_upgrade_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **server)
    except psycopg.OperationalError as exc:
        require_service(False, f"PostgreSQL at {server['host']}:{server['port']} ({exc})")
        raise
    credentials = quote(server["user"]) + (f":{quote(server['password'])}" if server["password"] else "")
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield f"postgres://{credentials}@{server['host']}:{server['port']}/{name}"
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# ------------------------------------------------------------------ the tests


@pytest.mark.integration
def test_postgresql_database_upgrades_in_place(postgres_url: str, tmp_path: Path) -> None:
    upgrade_round_trip(postgres_url, tmp_path)


def test_sqlite_database_upgrades_in_place(sqlite_url: str, tmp_path: Path) -> None:
    upgrade_round_trip(sqlite_url, tmp_path)


def upgrade_round_trip(database_url: str, out_dir: Path) -> None:
    phases, failure = run_scenario(database_url, out_dir)
    assert "seed" in phases, f"seeding the pre-split database failed:\n{failure}"
    assert "upgrade" in phases, f"the upgrade failed:\n{failure}"
    check_upgraded(phases["seed"], phases["upgrade"])
    assert "downgrade" in phases, f"migrating back to the pre-split nodes failed:\n{failure}"
    check_downgraded(phases["seed"], phases["downgrade"])


# ------------------------------------------------------------------ checks


def check_upgraded(seeded: dict[str, Any], upgraded: dict[str, Any]) -> None:
    moves: dict[str, str] = upgraded["moves"]
    assert [name for name, app in moves.items() if not app] == [], "a riskgov table without a model"
    assert (moves["proposal"], moves["marginparameters"], moves["auditrecord"]) == ("governance", "markets", "core")
    assert upgraded["unapplied"] == []

    def new_label(subject_type: str) -> str:
        app, model = subject_type.split(".")
        return f"{moves[model]}.{model}" if app == "riskgov" else subject_type

    def relabelled(table: str, row: dict[str, Any]) -> dict[str, Any]:
        row = dict(row)
        if table == "django_content_type" and row["app_label"] == "riskgov":
            row["app_label"] = moves[row["model"]]
        if table == "riskgov_auditrecord":
            row["subject_type"] = new_label(row["subject_type"])
        return row

    expected = {
        table: {pk: relabelled(table, row) for pk, row in rows.items()} for table, rows in seeded["tables"].items()
    }
    assert _row_differences(expected, upgraded["tables"]) == []

    # content types: the same ids under the new labels, none left (or made again) under riskgov
    seeded_types, types = seeded["content_types"], upgraded["content_types"]
    assert [t for t in types.values() if t[0] == "riskgov"] == []
    for pk, (app, model) in seeded_types.items():
        assert types[pk] == [moves[model] if app == "riskgov" else app, model]
    assert [t for pk, t in types.items() if pk not in seeded_types and t[1] in moves] == []

    # no table of a moved model gained or lost a row
    for model in moves:
        table = f"riskgov_{model}"
        if table in seeded["tables"]:
            assert set(upgraded["tables"][table]) == set(seeded["tables"][table]), table

    relations, before = upgraded["relations"], seeded["relations"]
    by_label = {"audit subjects", "group -> permissions", "admin log -> content type"}
    assert {k: v for k, v in relations.items() if k not in by_label} == {
        k: v for k, v in before.items() if k not in by_label
    }
    assert relations["audit subjects"] == {
        pk: [new_label(subject_type), table, subject_pk]
        for pk, (subject_type, table, subject_pk) in before["audit subjects"].items()
    }
    by_subject = {pk: subject_type for pk, (subject_type, _, _) in relations["audit subjects"].items()}
    audits = seeded["ids"]["audit_by_subject"]
    assert {by_subject[str(pk)] for pk in audits["proposal"]} == {"governance.proposal"}
    assert {by_subject[str(pk)] for pk in audits["marginparameters"]} == {"markets.marginparameters"}
    assert {by_subject[str(pk)] for pk in audits["insurancefund"]} == {"insurance.insurancefund"}
    assert relations["group -> permissions"] == [
        [codename, ct, moves[model], model] for codename, ct, _, model in before["group -> permissions"]
    ]
    assert relations["admin log -> content type"] == [
        [ct, moves[model], model, object_id] for ct, _, model, object_id in before["admin log -> content type"]
    ]

    application = upgraded["application"]
    proposal_pk, parameter_pks = seeded["ids"]["proposal"], seeded["ids"]["marginparameters"]
    subjects = application["audit subjects"]  # resolved through the application's own models
    assert [subjects[str(pk)] for pk in audits["proposal"]] == [["governance.Proposal", proposal_pk]] * 2
    assert [subjects[str(pk)] for pk in audits["marginparameters"]] == [
        ["markets.MarginParameters", parameter_pks[1]],
        ["markets.MarginParameters", parameter_pks[2]],
    ]
    assert [subjects[str(pk)] for pk in audits["insurancefund"]] == [
        ["insurance.InsuranceFund", seeded["ids"]["insurancefund"]]
    ]
    assert application["proposal audit records"] == audits["proposal"]
    assert application["content type ids"] == {
        model: int(next(pk for pk, t in seeded_types.items() if t == ["riskgov", model]))
        for model in ("proposal", "marginparameters")
    }
    assert application["group permissions"] == {
        "markets.change_marginparameters": True,
        "governance.view_proposal": True,
        "riskgov.change_marginparameters": False,
        "markets.delete_marginparameters": False,
    }
    assert application["admin log object"] == ["markets.MarginParameters", parameter_pks[1]]
    assert application["unregistered periodic tasks"] == []


def check_downgraded(seeded: dict[str, Any], downgraded: dict[str, Any]) -> None:
    assert downgraded["applied"] == seeded["applied"]
    assert _row_differences(seeded["tables"], downgraded["tables"]) == []
    for table, rows in seeded["tables"].items():
        if table.startswith("riskgov_"):
            assert set(downgraded["tables"][table]) == set(rows), table
    types = downgraded["content_types"]
    for pk, label in seeded["content_types"].items():
        assert types[pk] == label
    moved = {model for app, model in seeded["content_types"].values() if app == "riskgov"}
    assert [t for t in types.values() if t[0] in NEW_APPS and t[1] in moved] == []
    assert downgraded["relations"] == seeded["relations"]


def _row_differences(expected: Tables, actual: Tables) -> list[str]:
    """Rows of `expected` missing from `actual`, or with another value in one of `expected`'s columns."""
    differences = []
    for table, rows in expected.items():
        if table not in actual:
            differences.append(f"{table}: table missing")
            continue
        for pk, row in rows.items():
            found = actual[table].get(pk)
            if found is None:
                differences.append(f"{table} #{pk}: row missing")
                continue
            for column, value in row.items():
                if found.get(column, "<no column>") != value:
                    differences.append(f"{table} #{pk}.{column}: {value!r} became {found.get(column, '<no column>')!r}")
    return differences
