"""`python -m riskgov.core.readiness`: the URL is printed only once the web server answers, with the status of
worker, beat and chain; a server that never answers fails with a message naming the URL and the reason."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chain.anvil import free_port
from riskgov.core.readiness import chain_status, status_line
from tests.conftest import REPO_ROOT


class _Site(BaseHTTPRequestHandler):
    """A web server that starts answering only after `opens_at` (before that it answers 503, as while loading)
    and reports worker and beat up; POSTs are a chain's JSON-RPC."""

    opens_at = 0.0

    def do_GET(self) -> None:
        if time.monotonic() < self.opens_at:
            self._send(503, b"starting")
        elif self.path.startswith("/healthz"):
            checks = {
                "worker": {"ok": True, "workers": ["celery@demo"]},
                "beat": {"ok": True, "age_seconds": 3.2, "last_heartbeat": "2026-01-01T00:00:00+00:00"},
            }
            self._send(200, json.dumps({"status": "ok", "checks": checks}).encode())
        else:
            self._send(200, b"<h1>RiskGov</h1>")

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        result = {"eth_chainId": hex(31337), "eth_blockNumber": hex(42)}[request["method"]]
        self._send(200, json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[tuple[str, type[_Site]]]:
    handler = type("Site", (_Site,), {"opens_at": 0.0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", handler
    finally:
        server.shutdown()
        server.server_close()


def _readiness(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "riskgov.core.readiness", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_server_that_never_answers_fails_naming_the_url_and_the_reason() -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    done = _readiness("--url", f"http://127.0.0.1:{port}/", "--timeout", "1.5", "--chain-rpc-url", "")
    assert done.returncode == 1
    assert done.stdout == ""  # no URL printed
    assert f"The web server at http://127.0.0.1:{port}/ did not answer within 2 s" in done.stderr
    assert "refused" in done.stderr.lower()
    assert time.monotonic() - started < 15


def test_url_printed_only_after_the_server_answers_with_worker_beat_and_chain(site: tuple[str, type[_Site]]) -> None:
    url, handler = site
    handler.opens_at = time.monotonic() + 1.5  # answers 503 for the first 1.5 s
    done = _readiness("--url", url, "--timeout", "20", "--settle", "0", "--chain-rpc-url", url, "--then", "admin: x")
    assert done.returncode == 0, done.stderr
    first, status, then = done.stdout.splitlines()
    assert first.startswith(f"RiskGov is up at {url} (answered HTTP 200 after ")
    waited = float(first.split(" after ")[1].split(" s)")[0])
    assert waited >= 1.2  # it did not report while the server still answered 503
    assert status == "worker ok (celery@demo) · beat ok (heartbeat 3 s ago) · chain ok (id 31337, block 42)"
    assert then == "admin: x"


def test_status_line_names_what_is_down() -> None:
    checks = {
        "worker": {"ok": False, "error": "no Celery worker answered a ping within 1 s"},
        "beat": {"ok": False, "error": "no heartbeat recorded: is celery beat running?"},
    }
    chain = {"ok": False, "error": "no answer from http://127.0.0.1:1: Connection refused"}
    assert status_line(checks, chain) == (
        "worker DOWN (no Celery worker answered a ping within 1 s) · "
        "beat DOWN (no heartbeat recorded: is celery beat running?) · "
        "chain DOWN (no answer from http://127.0.0.1:1: Connection refused)"
    )
    assert status_line({}, None) == "worker unknown · beat unknown"


def test_chain_status_when_nothing_listens() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    status = chain_status(f"http://127.0.0.1:{port}", timeout=1)
    assert status["ok"] is False and f"no answer from http://127.0.0.1:{port}" in status["error"]


@pytest.mark.django_db(transaction=True)
def test_against_the_real_web_server(live_server: object) -> None:
    """Against Django's live server: the page answers; worker and beat are reported from /healthz?deep=1."""
    url = f"{live_server.url}/"
    done = _readiness("--url", url, "--timeout", "20", "--settle", "0", "--chain-rpc-url", "", timeout=60)
    assert done.returncode == 0, done.stderr
    first, status = done.stdout.splitlines()
    assert first.startswith(f"RiskGov is up at {url} (answered HTTP 200 after ")
    assert status.startswith("worker ") and " · beat " in status and "chain" not in status
