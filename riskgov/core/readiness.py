"""Waits until the web server answers, then says so with the status of worker, beat and chain.

`make run` starts this beside the web, worker, beat and chain processes (Procfile ``ready``) so the demo's URL
is printed only once a page loads, never while the browser would still get "connection refused":

    python -m riskgov.core.readiness --url http://127.0.0.1:8000/ --timeout 300 --hold

The web server is polled at ``--url`` until it answers with a page (any status below 500); then its
``/healthz?deep=1`` names the worker and beat, and the chain's JSON-RPC is asked for its chain id and block.
The URL is printed as soon as a page answers; worker and beat start alongside the web server, so the status
line follows once they are up, or after ``--settle`` seconds naming what is still down. Exit status 0 when the
web server answered, 1 (with the reason on stderr) when it did not within ``--timeout``. With ``--hold`` the
process stays up after reporting, because honcho stops every process as soon as one exits.

Standard library only: it runs before, and independently of, Django's start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

POLL_SECONDS = 0.25
SERVER_ERROR = 500  # an answer at or above this is not a working page
REQUEST_TIMEOUT = 2.0  # seconds for one request
DEFAULT_CHAIN_RPC_URL = "http://127.0.0.1:8545"


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer at all
    body: bytes = b""
    error: str = ""


def http_get(url: str, timeout: float = REQUEST_TIMEOUT) -> Answer:
    """One GET; an HTTP error status is an answer, a refused or timed-out connection is not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own server's URL
            return Answer(status=response.status, body=response.read())
    except urllib.error.HTTPError as error:
        return Answer(status=error.code, body=error.read())
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return Answer(status=None, error=str(reason))


def web_wait(url: str, *, timeout: float, get: Callable[[str], Answer] = http_get) -> tuple[Answer, float]:
    """Poll `url` until it answers with a status below 500; (the last answer, seconds waited)."""
    started = time.monotonic()
    while True:
        answer = get(url)
        waited = time.monotonic() - started
        if answer.status is not None and answer.status < SERVER_ERROR:
            return answer, waited
        if waited >= timeout:
            return answer, waited
        time.sleep(POLL_SECONDS)


def health_checks(base_url: str, get: Callable[[str], Answer] = http_get) -> dict[str, dict[str, Any]]:
    """The web server's deep health checks (database, cache, worker, beat); {} when it gave none."""
    answer = get(urljoin(base_url, "/healthz?deep=1"))
    try:
        document = json.loads(answer.body or b"{}")
    except ValueError:
        return {}
    checks = document.get("checks") if isinstance(document, dict) else None
    return checks if isinstance(checks, dict) else {}


def chain_status(rpc_url: str, timeout: float = REQUEST_TIMEOUT) -> dict[str, Any]:
    """The chain's id and latest block from its JSON-RPC, or the reason it did not answer."""
    replies: dict[str, Any] = {}
    for method in ("eth_chainId", "eth_blockNumber"):
        request = urllib.request.Request(  # noqa: S310 - the configured RPC URL
            rpc_url,
            data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured RPC URL
                reply = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as error:
            return {"ok": False, "error": f"no answer from {rpc_url}: {getattr(error, 'reason', error)}"}
        if not isinstance(reply, dict) or "result" not in reply:
            return {"ok": False, "error": f"{rpc_url} answered {method} without a result"}
        replies[method] = int(reply["result"], 16)
    return {"ok": True, "chain_id": replies["eth_chainId"], "block": replies["eth_blockNumber"]}


def _part(name: str, check: dict[str, Any] | None, detail: str) -> str:
    if check is None:
        return f"{name} unknown"
    if check.get("ok"):
        return f"{name} ok{f' ({detail})' if detail else ''}"
    return f"{name} DOWN ({check.get('error', 'no reason given')})"


def status_line(checks: dict[str, dict[str, Any]], chain: dict[str, Any] | None) -> str:
    """One line: worker ok (celery@host) · beat ok (heartbeat 3 s ago) · chain ok (id 31337, block 42)."""
    worker = checks.get("worker")
    beat = checks.get("beat")
    parts = [
        _part("worker", worker, ", ".join((worker or {}).get("workers", []))),
        _part("beat", beat, f"heartbeat {beat['age_seconds']:.0f} s ago" if beat and "age_seconds" in beat else ""),
    ]
    if chain is not None:
        parts.append(_part("chain", chain, f"id {chain.get('chain_id')}, block {chain.get('block')}"))
    return " · ".join(parts)


def _all_up(checks: dict[str, dict[str, Any]], chain: dict[str, Any] | None) -> bool:
    wanted = [checks.get("worker"), checks.get("beat"), *([chain] if chain is not None else [])]
    return all(part is not None and part.get("ok") for part in wanted)


def services_status(
    *, url: str, settle: float, chain_rpc_url: str | None, get: Callable[[str], Answer] = http_get
) -> str:
    """The status line of worker, beat and chain, once all are up or after `settle` seconds, whichever is first."""
    deadline = time.monotonic() + settle
    while True:
        checks = health_checks(url, get=get)
        chain = chain_status(chain_rpc_url) if chain_rpc_url else None
        if _all_up(checks, chain) or time.monotonic() >= deadline:
            return status_line(checks, chain)
        time.sleep(1.0)


def _hold() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000/", help="The page that must answer.")
    parser.add_argument("--timeout", type=float, default=300.0, help="Seconds to wait for the web server.")
    parser.add_argument("--settle", type=float, default=20.0, help="Seconds more for worker, beat and chain.")
    parser.add_argument(
        "--chain-rpc-url",
        default=os.environ.get("CHAIN_RPC_URL", DEFAULT_CHAIN_RPC_URL),
        help="The chain's JSON-RPC URL; empty to leave the chain out.",
    )
    parser.add_argument("--hold", action="store_true", help="Stay up after reporting (under honcho).")
    parser.add_argument("--then", action="append", default=[], help="A line to print after the status.")
    options = parser.parse_args(argv)
    answer, waited = web_wait(options.url, timeout=options.timeout)
    if answer.status is None or answer.status >= SERVER_ERROR:
        reason = answer.error or f"HTTP {answer.status}"
        print(
            f"The web server at {options.url} did not answer within {options.timeout:.0f} s ({reason}).",
            file=sys.stderr,
        )
        return 1
    # the URL as soon as a page loads; the status of the rest follows when it is up (at most --settle s later)
    print(f"RiskGov is up at {options.url} (answered HTTP {answer.status} after {waited:.1f} s)", flush=True)
    status = services_status(url=options.url, settle=options.settle, chain_rpc_url=options.chain_rpc_url or None)
    print("\n".join([status, *options.then]), flush=True)
    if options.hold:
        _hold()
    return 0


if __name__ == "__main__":
    sys.exit(main())
