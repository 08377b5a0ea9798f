"""Each benchmark gets a fresh PostgreSQL database of its own on the server in BENCH_PG_URL."""

from __future__ import annotations

import os

import psycopg

SERVER_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def recreate_database(name: str) -> str:
    """Drop and create database `name`; returns its URL."""
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return SERVER_URL.rsplit("/", 1)[0] + "/" + name


def django_setup(url: str) -> None:
    """Point Django (test settings) at `url` and set it up; also used by benchmark worker processes."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    import django

    django.setup()


def fresh_django_database(name: str) -> str:
    """Recreate `name`, set Django up on it and migrate; returns its URL."""
    url = recreate_database(name)
    django_setup(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url


def drop_database(name: str) -> None:
    """Drop database `name` (a benchmark's own), so a run leaves nothing behind."""
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def bench_databases_drop() -> list[str]:
    """Drop every database a benchmark made (bench_…, riskgov_bench…, test_bench_… and the test_ copies pytest
    makes of them); the names dropped."""
    query = (
        "SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%' OR datname LIKE 'riskgov\\_bench%' "
        "OR datname LIKE 'test\\_bench\\_%' OR datname LIKE 'test\\_test\\_bench\\_%'"
    )
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        names = [row[0] for row in conn.execute(query)]
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return names


if __name__ == "__main__":
    dropped = bench_databases_drop()
    print(f"dropped {len(dropped)} benchmark database(s): {', '.join(dropped) or 'none'}")
