"""Suite-wide fixtures. Under CI=true a missing service fails the test instead of skipping it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from celery.app.base import Celery

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REPO_ROOT = Path(__file__).resolve().parent.parent


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


@contextmanager
def chromium_page(artifacts: Path, **page_options: Any) -> Iterator[Any]:
    """A Playwright page in Debian's Chromium (required under CI); screenshots go to `artifacts`."""
    require_service(
        Path(CHROMIUM).exists() or shutil.which("chromium") is not None, "Chromium (apt-get install chromium)"
    )
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(**page_options)
        finally:
            browser.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Transactional tests start from the rows the migrations created (default rules, schedules, settings).

    A transactional test empties every table when it ends; with serialized rollback the next one gets the
    migrated rows back, so no test depends on running before another (the suite runs in random order).
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        fixtures = getattr(item, "fixturenames", ())
        transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
            name in fixtures for name in ("transactional_db", "live_server")
        )
        if transactional:
            kwargs = {**(marker.kwargs if marker else {}), "transaction": True, "serialized_rollback": True}
            item.add_marker(pytest.mark.django_db(*(marker.args if marker else ()), **kwargs), append=False)


def require_service(available: bool, what: str) -> None:
    """Skip locally, fail under CI, when `what` is not available."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is not available")
    pytest.skip(f"{what} is not available")


def _redis_up(url: str) -> bool:
    from config.settings.broker import redis_answers

    return redis_answers(url, timeout=1.0)


@pytest.fixture(autouse=True)
def _tasks_stay_off_the_broker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Outside integration tests, a task sent to the broker is recorded here instead of published.

    The suite's Celery worker (`celery_worker_process`) lives for the whole session; a task another test sends
    would otherwise run on it while that test's tables are being emptied. Integration tests (marker) publish
    for real; tests that patch a task's `delay` see their patch as before.
    """
    sent: list[Any] = []
    if request.node.get_closest_marker("integration") is not None:
        return sent

    def record(app: Celery, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        sent.append((name, args, kwargs, options))
        result_cls = options.get("result_cls") or app.AsyncResult
        return result_cls(options.get("task_id") or uuid.uuid4().hex)

    monkeypatch.setattr(Celery, "send_task", record)
    return sent


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: None, django_db_blocker: object) -> Iterator[subprocess.Popen[str]]:
    """A real Celery worker process on the test broker (Redis) and the test database.

    Tests using it must commit their data (``transactional_db``) so the worker can see it.
    """
    from django.conf import settings
    from django.db import connection

    broker = settings.CELERY_BROKER_URL
    require_service(broker.startswith("redis") and _redis_up(broker), f"Redis broker at {broker}")
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("the Celery worker tests need PostgreSQL (set DATABASE_URL)")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
    }
    log_path = REPO_ROOT / "var" / "test-worker.log"
    log_path.parent.mkdir(exist_ok=True)
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            "--hostname=testworker@%h",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    from config.celery_app import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Celery worker exited with {process.returncode}; see {log_path}")
        if app.control.ping(timeout=0.5):
            break
    else:
        process.kill()
        pytest.fail(f"Celery worker did not answer within 60 s; see {log_path}")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session", autouse=True)
def _serialized_rows_on_every_connection(django_db_setup: None) -> Iterator[None]:
    """Every connection object to the test database knows the rows the migrations created.

    Django keeps them on the connection that created the test database. While Playwright's sync API runs its
    event loop in this thread, Django hands out connection objects per context instead of per thread, and a
    transactional test's flush on such a connection would not know them: it would emit ``post_migrate``
    (re-creating content types and role groups with ids of their own) and the next test's serialized rollback
    would collide with those rows.
    """
    from django.db import connections

    for alias in connections:
        contents = getattr(connections[alias], "_test_serialized_contents", None)
        if contents is not None:
            type(connections[alias])._test_serialized_contents = contents  # the wrapper class: one test database
    yield


@pytest.fixture(scope="session", autouse=True)
def _close_stray_test_db_sessions(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Before the test database is dropped, end sessions that other processes (workers killed mid-task,
    browser-test servers) left open, so the drop succeeds and the next run starts clean."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
