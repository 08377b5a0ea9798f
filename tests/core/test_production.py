"""The production deploy: `check --deploy` is clean, `collectstatic` writes the manifest with the production
storage, and gunicorn under `config.settings.production` serves the pages with hashed static files, HTTPS
behind a proxy (redirect, HSTS, `https://` in sign-in messages) and the Content-Security-Policy; `/healthz`
reports the database, the cache, a worker and beat's heartbeat."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from riskgov.core.services.heartbeat import beat_heartbeat_record
from tests.conftest import REPO_ROOT
from tests.governance.conftest import chain, gov_settings, holders, market  # noqa: F401  (fixtures)

HASHED_STATIC = re.compile(r"""(?:src|href)="(/static/[^"]+\.[0-9a-f]{12}\.(?:css|js|svg|png))\"""")
ANY_STATIC = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")


def production_environment(static_root: Path, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_BEHIND_TLS_PROXY": "1",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://localhost",
        "DJANGO_STATIC_ROOT": str(static_root),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
        **extra,
    }


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        check=False,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.django_db
def test_check_deploy_is_clean_under_production_settings(tmp_path: Path) -> None:
    result = manage(
        production_environment(tmp_path), "check", "--deploy", "--tag", "security", "--fail-level", "WARNING"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout, result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A plain-HTTP client of the gunicorn server, sending what a TLS-terminating proxy would add."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        *,
        https: bool = True,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        sent = {"Host": "localhost", **({"X-Forwarded-Proto": "https"} if https else {}), **(headers or {})}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            received = {name.lower(): value for name, value in response.getheaders()}
            cookies = [value for name, value in response.getheaders() if name.lower() == "set-cookie"]
            received["set-cookie"] = "\n".join(cookies)
            return response.status, received, response.read()
        finally:
            conn.close()


@pytest.fixture
def production_server(transactional_db: None, tmp_path: Path) -> Iterator[Server]:
    """collectstatic with the production storage into a temporary STATIC_ROOT, then gunicorn on the test database."""
    static_root = tmp_path / "static"
    env = production_environment(static_root)
    collected = manage(env, "collectstatic", "--noinput")
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert (static_root / "staticfiles.json").exists(), "the manifest was not written"
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "--config", "python:config.gunicorn",
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60", "--access-logfile", "-"],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = Server(port)
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited with {process.returncode}: {(tmp_path / 'gunicorn.log').read_text()}")
            try:
                server.request("GET", "/healthz", https=False)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not answer within 60 s")
                time.sleep(0.2)
        log.flush()
        # a worker answers only once config.gunicorn built its URL resolver and froze what it had loaded
        assert "URL resolver built" in (tmp_path / "gunicorn.log").read_text()
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.mark.integration
def test_gunicorn_with_production_settings_serves_pages_and_hashed_static_files(production_server: Server) -> None:
    server = production_server
    static_urls: set[str] = set()
    for path in ("/", "/governance/", "/admin/login/"):
        status, headers, body = server.request("GET", path)
        assert status == 200, (path, status, body[:500])
        page = body.decode()
        assert "default-src 'self'" in headers["content-security-policy"], headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["strict-transport-security"].startswith("max-age=31536000"), headers
        referenced = set(ANY_STATIC.findall(page))
        hashed = set(HASHED_STATIC.findall(page))
        assert referenced and referenced == hashed, (path, referenced - hashed)
        static_urls |= hashed
    assert any("/static/vendor/chart-4.6.1.umd.min." in url for url in static_urls), static_urls
    for url in sorted(static_urls):
        status, headers, body = server.request("GET", url)
        assert status == 200 and body, url
        assert "immutable" in headers.get("cache-control", ""), (url, headers.get("cache-control"))
        if "chart-4.6.1" in url:  # the source map it names was collected and hashed with it
            source_map = re.search(rb"sourceMappingURL=(\S+)", body)
            assert source_map and re.fullmatch(rb"chart\.umd\.min\.js\.[0-9a-f]{12}\.map", source_map.group(1))
            assert server.request("GET", "/static/vendor/" + source_map.group(1).decode())[0] == 200

    # Plain HTTP is redirected to HTTPS, except the health probe.
    status, headers, _ = server.request("GET", "/governance/", https=False)
    assert status == 301 and headers["location"] == "https://localhost/governance/"
    status, headers, body = server.request("GET", "/healthz", https=False)
    assert status == 200, body
    health = json.loads(body)
    assert health["status"] == "ok" and health["checks"]["database"] == {"ok": True}
    assert health["checks"]["cache"] == {"ok": True}

    # One server for every check: collectstatic with the production storage takes minutes on a small machine.
    assert_sign_in_messages_say_https(server)


def assert_sign_in_messages_say_https(server: Server) -> None:
    """Behind the TLS proxy, the EIP-4361 message's URI is https:// (request.scheme from X-Forwarded-Proto)."""
    _, headers, _ = server.request("GET", "/admin/login/")
    token = re.search(r"csrftoken=([^;]+)", headers["set-cookie"])
    assert token and "Secure" in headers["set-cookie"], headers["set-cookie"]
    address = "0x" + "ab" * 20
    status, _, body = server.request(
        "POST",
        "/auth/siwe/message/",
        body=json.dumps({"address": address}).encode(),
        headers={"Content-Type": "application/json", "Cookie": f"csrftoken={token.group(1)}",
                 "X-CSRFToken": token.group(1), "Origin": "https://localhost"},
    )  # fmt: skip
    assert status == 200, body
    message = json.loads(body)["message"]
    assert "\nURI: https://localhost\n" in message and message.startswith("localhost wants you to sign in"), message


# /healthz in the test process: 503 naming the failure; the deep check sees a real worker and beat's heartbeat.


@pytest.mark.django_db
def test_healthz_reports_the_database_and_the_cache(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": {"ok": True}, "cache": {"ok": True}}}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_503_naming_a_cache_that_does_not_answer(client: Client, settings: Any) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing" and body["checks"]["database"] == {"ok": True}
    assert body["checks"]["cache"]["ok"] is False and "Connection" in body["checks"]["cache"]["error"]


@pytest.mark.django_db
def test_deep_healthz_without_beat_says_so(client: Client) -> None:
    from django.core.cache import cache

    from riskgov.core.services.heartbeat import HEARTBEAT_CACHE_KEY

    cache.delete(HEARTBEAT_CACHE_KEY)
    response = client.get("/healthz?deep=1")
    assert response.status_code == 503
    assert "beat" in response.json()["checks"]["beat"]["error"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_deep_healthz_sees_the_worker_and_the_heartbeat_it_stored(
    client: Client, celery_worker_process: subprocess.Popen[str]
) -> None:
    from django.core.cache import cache

    from config.celery_app import app
    from riskgov.core.services.heartbeat import HEARTBEAT_CACHE_KEY

    cache.delete(HEARTBEAT_CACHE_KEY)
    app.send_task("core.heartbeat")  # what beat sends every RISKGOV_HEARTBEAT_SECONDS
    deadline = time.monotonic() + 30
    while cache.get(HEARTBEAT_CACHE_KEY) is None:
        assert time.monotonic() < deadline, "the worker did not store the heartbeat"
        time.sleep(0.2)
    response = client.get("/healthz?deep=1")
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert checks["worker"]["ok"] and checks["worker"]["workers"], checks
    assert checks["beat"]["ok"] and checks["beat"]["age_seconds"] < 30, checks

    beat_heartbeat_record(at=timezone.now() - timedelta(seconds=10 * settings.RISKGOV_HEARTBEAT_SECONDS))
    stale = client.get("/healthz?deep=1")
    assert stale.status_code == 503 and "old" in stale.json()["checks"]["beat"]["error"]


# Every main page in Chromium under the policy: no violation, no script error, no failed resource.

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${where}`);
});
"""


@pytest.fixture
def browser_pages(live_server: Any) -> Iterator[tuple[Any, list[str]]]:
    from tests.conftest import chromium_page

    problems: list[str] = []
    with chromium_page(REPO_ROOT / "test-artifacts" / "csp", viewport={"width": 1280, "height": 900}) as page:
        page.add_init_script(CSP_LISTENER)
        page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
                if message.type in ("error", "warning") and not message.text.startswith("Failed to load resource")
                else None)  # fmt: skip
        # a failed resource by its URL (the browser's own /favicon.ico probe on pages without an icon aside)
        page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
                if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)  # fmt: skip
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
        yield page, problems


def _visit(page: Any, problems: list[str], url: str, ready: str | None = None, blocked: str | None = None) -> None:
    """Open `url`; fail on any violation or problem, except the blocking of the one URL `blocked` names."""
    page.goto(url, wait_until="networkidle")
    if ready:
        page.wait_for_selector(ready, timeout=30_000)
        page.wait_for_load_state("networkidle")
    violations = page.evaluate("window.__cspViolations")
    if blocked:
        assert any(blocked in v for v in violations), (url, violations)  # the policy did block it
        violations = [v for v in violations if blocked not in v]
        problems[:] = [p for p in problems if blocked not in p]
    assert not violations, (url, violations)
    assert not problems, (url, problems)
    assert page.evaluate("document.readyState") == "complete"


@pytest.mark.e2e
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_main_pages_satisfy_the_content_security_policy(
    live_server: Any,
    browser_pages: tuple[Any, list[str]],
    chain: Any,  # noqa: F811
    holders: Any,  # noqa: F811
    market: Any,  # noqa: F811
    gov_settings: Any,  # noqa: F811
) -> None:
    from django.contrib.auth.models import User

    from insurance.models import EntryKind, InsuranceFund
    from insurance.services.ledger import ledger_entry_record
    from tests.factories import AccountFactory, PositionFactory
    from tests.governance.conftest import make_proposal

    page, problems = browser_pages
    base = live_server.url
    fund = InsuranceFund.objects.create(name="Protocol insurance fund")
    ledger_entry_record(fund=fund, kind=EntryKind.DEPOSIT, amount=D("1000000"), external_ref="csp", note="seed",
                        recorded_by="test")  # fmt: skip
    PositionFactory(market=market, account=AccountFactory())
    proposal = make_proposal(chain, holders[0], now=timezone.now())
    User.objects.create_superuser("csp-admin", password="csp-password")

    _visit(page, problems, f"{base}/admin/login/")
    page.fill("#id_username", "csp-admin")
    page.fill("#id_password", "csp-password")
    page.click("input[type=submit]")
    page.wait_for_load_state("networkidle")
    assert not page.evaluate("window.__cspViolations") and not problems, problems

    for path in (
        "/",
        "/markets/",
        "/markets/ETH/",
        "/positions/",
        "/governance/",
        f"/governance/{proposal.pk}/",
        "/governance/new/",
        "/insurance/",
        "/insurance/runs/new/",
        "/reports/",
        "/risk/alerts/",
        "/risk/recommendations/",
        "/risk/markets/ETH/policy/",
        "/risk/markets/ETH/backtest/",
        "/admin/",
    ):
        _visit(page, problems, base + path)
    _visit(page, problems, f"{base}/api/docs/", ready=".swagger-ui .info")
    # Redoc's bundle shows its maker's logo from their site; the policy blocks that image (and only that).
    _visit(page, problems, f"{base}/api/redoc/", ready="#redoc-container h1", blocked=REDOC_LOGO)
