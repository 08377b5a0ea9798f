"""Bad input is a 4xx with a reason, never a 500: NUL characters in any path parameter (every URL pattern with a
text parameter, found through the resolver so a new one is covered too), deeply nested JSON on every
JSON-reading endpoint, and coverage-run creation retried with an Idempotency-Key or met with the broker down."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission as DjangoPermission
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from insurance.models import ChunkStatus, CoverageRun, RunStatus
from insurance.services import coverage_runs
from riskgov.core import dispatch
from riskgov.core.models import Permission
from tests.factories import MarketFactory
from tests.insurance.conftest import build_book, wait_for_run

pytestmark = pytest.mark.django_db

TEXT_CONVERTER = re.compile(r"<(?:str|slug|path):\w+>")
OTHER_CONVERTER = re.compile(r"<(?:\w+:)?\w+>")


def _routes(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(route, name) of every pattern under `resolver`, with the routes of its includes joined."""
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.name or entry.lookup_str


def routes_with_text_parameters() -> list[tuple[str, str]]:
    return [(route, name) for route, name in _routes(get_resolver()) if TEXT_CONVERTER.search(route)]


def nul_url(route: str) -> str:
    """The route with `%00` inside each text parameter and 1 for every other parameter."""
    url = TEXT_CONVERTER.sub("a%00b", route.lstrip("^"))
    return "/" + OTHER_CONVERTER.sub("1", url).replace("\\Z", "").replace("$", "")


def test_the_resolver_walk_finds_the_known_text_parameters() -> None:
    names = {name for _, name in routes_with_text_parameters()}
    assert {"market-detail", "market-policy", "market-backtest", "unsubscribe", "holder-detail"} <= names, names


@pytest.mark.parametrize(("route", "name"), routes_with_text_parameters())
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_nul_character_in_a_path_parameter_is_refused(
    admin_client: Client, route: str, name: str, method: str
) -> None:
    # A superuser reaches every view (staff pages too), so nothing stops the request before the parameter is used.
    response = getattr(admin_client, method)(nul_url(route))
    assert response.status_code in (400, 404), (name, response.status_code, response.content[:300])
    if response.status_code == 400:
        error = response.json()["error"]
        assert error == {"code": "nul_character", "message": error["message"], "field": "path"}
        assert "NUL" in error["message"]


def test_a_browser_gets_the_400_page_for_a_nul_character(client: Client) -> None:
    response = client.get("/markets/ETH%00/", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_a_nul_character_in_a_query_parameter_is_refused(client: Client) -> None:
    response = client.get("/positions/?market=ETH%00")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "market"


@pytest.mark.parametrize("page", ["policy", "backtest"])
def test_the_policy_pages_of_a_market_without_a_policy_answer(admin_client: Client, page: str) -> None:
    MarketFactory(symbol="ETH")
    response = admin_client.get(f"/risk/markets/ETH/{page}/")
    assert response.status_code == 200, response.content[:300]
    assert b"ETH" in response.content


DEEP_JSON = "[" * 100_000


@pytest.mark.parametrize(
    "url",
    [
        "/governance/api/proposals/1/votes/",
        "/auth/siwe/message/",
        "/auth/siwe/verify/",
        "/insurance/api/runs/",
    ],
)
def test_deeply_nested_json_is_a_400_in_the_error_shape(admin_client: Client, url: str) -> None:
    response = admin_client.post(url, DEEP_JSON, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"} and error["message"]


def test_the_vote_api_says_why_it_refuses_deep_json(client: Client) -> None:
    response = client.post("/governance/api/proposals/1/votes/", DEEP_JSON, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert "deeper than 64 levels" in response.json()["error"]["message"]


def test_json_nested_within_the_bound_still_parses(client: Client) -> None:
    # 60 levels is accepted by the parser; the vote API then refuses the body for its fields, not its depth.
    response = client.post("/governance/api/proposals/1/votes/", "[" * 60 + "]" * 60, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] != "parse_error"


# Coverage runs with an Idempotency-Key.

RUN_BODY = {"label": "retried", "paths": 200, "steps": 24, "seed": 5}


@pytest.fixture
def run_manager(client: Client) -> Client:
    user = User.objects.create_user("run-manager", password="x")
    user.user_permissions.add(
        DjangoPermission.objects.get(content_type__app_label="core", codename=Permission.MANAGE_COVERAGE_RUNS.value)
    )
    client.force_login(user)
    return client


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(coverage_runs, "coverage_run_enqueue", lambda *, run_id: sent.append(run_id) or 0)
    return sent


def _post_run(client: Client, body: dict[str, Any], key: str | None) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/insurance/api/runs/", body, content_type="application/json", **headers)


def test_a_retried_run_creation_with_the_same_key_creates_one_run(
    run_manager: Client, enqueued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    build_book()
    with django_capture_on_commit_callbacks(execute=True):
        first = _post_run(run_manager, RUN_BODY, "retry-7f3a")
    assert first.status_code == 202, first.content
    with django_capture_on_commit_callbacks(execute=True):
        again = _post_run(run_manager, dict(reversed(RUN_BODY.items())), "retry-7f3a")  # same data, other order
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"]
    assert CoverageRun.objects.count() == 1 and enqueued == [first.json()["id"]]

    with django_capture_on_commit_callbacks(execute=True):
        other = _post_run(run_manager, RUN_BODY, "retry-9c01")
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]


def test_the_same_key_with_another_body_is_refused_naming_the_header(
    run_manager: Client, enqueued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    build_book()
    with django_capture_on_commit_callbacks(execute=True):
        assert _post_run(run_manager, RUN_BODY, "key-1").status_code == 202
    response = _post_run(run_manager, {**RUN_BODY, "paths": 300}, "key-1")
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == "Idempotency-Key"
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert CoverageRun.objects.count() == 1


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "ключ"])
def test_a_malformed_idempotency_key_is_a_400(run_manager: Client, enqueued: list[int], key: str) -> None:
    build_book()
    response = _post_run(run_manager, RUN_BODY, key)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == "Idempotency-Key"
    assert not CoverageRun.objects.exists()


# The broker down while a run is created: the run is stored, the answer is 202, and the sweeper sends it later.

CLOSED_PORT_BROKER = "redis://127.0.0.1:9/0"  # nothing listens on port 9 (discard)


def _point_broker_at(url: str) -> None:
    """Point this process's Celery app at `url`, dropping the connections it pooled for the old broker."""
    from config.celery_app import app

    app.conf.broker_url = url
    app._after_fork()  # what Celery does in a forked child: forget the connection and producer pools


@pytest.fixture
def broker_down() -> Iterator[Callable[[], None]]:
    """The web side's broker is a closed port until the test calls the returned `restore()`."""
    from config.celery_app import app

    working = app.conf.broker_url
    _point_broker_at(CLOSED_PORT_BROKER)
    yield lambda: _point_broker_at(working)
    _point_broker_at(working)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_run_created_while_the_broker_is_down_is_202_and_runs_once_it_is_back(
    run_manager: Client, broker_down: Callable[[], None], celery_worker_process: Any
) -> None:
    build_book()
    response = _post_run(run_manager, RUN_BODY, "while-redis-is-down")
    assert response.status_code == 202, response.content
    run = CoverageRun.objects.get(pk=response.json()["id"])
    assert run.status == RunStatus.QUEUED and response.json()["status"] == RunStatus.QUEUED
    assert list(run.chunks.values_list("status", "task_id", "enqueued_at")) == [(ChunkStatus.PENDING, "", None)]

    # The client retries (it saw a timeout, say): the same run, nothing new.
    again = _post_run(run_manager, RUN_BODY, "while-redis-is-down")
    assert again.status_code == 200 and again.json()["id"] == run.pk and CoverageRun.objects.count() == 1

    # The broker is back; the periodic sweep sends the chunks it never got, and the worker runs them.
    broker_down()
    CoverageRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    report = dispatch.task("insurance.sweep_stale_runs").apply().get()
    assert report["requeued"] == {run.pk: [0]}, report
    finished = wait_for_run(run, timeout=120)
    assert finished.status == RunStatus.SUCCEEDED, finished.error
