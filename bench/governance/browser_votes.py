"""Votes per second as browsers send them: through a real gunicorn, with the session and CSRF cookies a page visit
sets and the X-CSRFToken header the proposal page's script sends (static/js/wallet.js `postJson`).

Each of ``--clients`` threads is one browser: it GETs the proposal page (cookies), then POSTs signed ballots as
JSON to the vote endpoint with its cookies, the CSRF header, Origin and Referer, each on a new connection (sync
workers close it). Voting power is read as in production: from the indexed VotingPowerCheckpoint rows at the
proposal's snapshot block (no chain call in the request). Same data set-up as `python -m bench.governance`.

    python -m bench.governance.browser_votes --votes 2000 --clients 8

Writes bench/results/governance_browser.json with the machine's load averages; database
riskgov_bench_governance_browser on BENCH_PG_URL's server, dropped at the end.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import platform
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load_average

RESULTS = Path(__file__).resolve().parent.parent / "results" / "governance_browser.json"
DB_NAME = "bench_governance_browser"
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "12")
GOAL_VOTES_PER_SECOND = 500


class Browser:
    """Cookies kept across requests, as a browser keeps them for one site."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def cookie(self, name: str) -> str:
        return next((c.value or "" for c in self.jar if c.name == name), "")

    def get(self, path: str) -> int:
        with self.opener.open(self.base + path, timeout=60) as response:
            response.read()
            return int(response.status)

    def post_json(self, path: str, body: dict[str, Any], referer: str) -> tuple[int, float]:
        request = urllib.request.Request(  # noqa: S310 - our own server
            self.base + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-CSRFToken": self.cookie("csrftoken"),
                "Origin": self.base,
                "Referer": self.base + referer,
            },
        )
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=60) as response:
                response.read()
                status = int(response.status)
        except urllib.error.HTTPError as error:
            error.read()
            status = error.code
        return status, time.perf_counter() - started


def _cast(
    browsers: list[Browser], endpoint: str, page: str, bodies: list[dict[str, Any]]
) -> tuple[list[float], dict[int, int], float]:
    """Every browser posts its share of `bodies` at once; (latencies, count per status, seconds)."""
    timings: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def vote(index: int) -> None:
        for body in bodies[index :: len(browsers)]:
            status, took = browsers[index].post_json(endpoint, body, referer=page)
            with lock:
                timings.append(took)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=vote, args=(i,)) for i in range(len(browsers))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings, statuses, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    options = parser.parse_args()
    redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    os.environ.update({"TEST_REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url, "REDIS_URL": redis_url})
    from bench.database import drop_database, fresh_django_database

    load_before = load_average()
    url = fresh_django_database(DB_NAME)
    process = None
    try:
        from bench.governance.__main__ import ballots, keys, make_proposal, setup_chain
        from bench.pages.__main__ import _flush_redis, _percentiles, _start_gunicorn, _stop

        voters = keys(options.votes)
        setup_chain([address for _, address in voters])
        proposal = make_proposal("browser votes")
        bodies = ballots(proposal.pk, voters)
        from django.db import connections

        connections.close_all()
        _flush_redis(redis_url)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": url}
        process, base = _start_gunicorn(env, Path(tempfile.gettempdir()) / "bench-votes-gunicorn.log")
        page = f"/governance/{proposal.pk}/"
        endpoint = f"/governance/api/proposals/{proposal.pk}/votes/"
        browsers = [Browser(base) for _ in range(options.clients)]
        for browser in browsers:  # each visits the page first: its session and CSRF cookies
            if browser.get(page) != 200 or not browser.cookie("csrftoken"):
                raise SystemExit(f"the proposal page {page} set no csrftoken cookie")
        load_start = load_average()
        timings, statuses, elapsed = _cast(browsers, endpoint, page, bodies)
        accepted = statuses.get(201, 0)
        from riskgov.governance.models import Vote

        stored = Vote.objects.filter(proposal_id=proposal.pk).count()
        result = {
            "benchmark": "governance votes through gunicorn as browsers send them",
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "gunicorn": {"workers": 4, "worker_class": "sync"},
            "clients": options.clients,
            "votes": len(bodies),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "votes_stored": stored,
            "seconds": round(elapsed, 2),
            "votes_per_second": round(accepted / elapsed, 1),
            "latency": _percentiles(timings),
            "goal_votes_per_second": GOAL_VOTES_PER_SECOND,
            "goal_met": accepted / elapsed >= GOAL_VOTES_PER_SECOND,
            "load_before_setup": load_before,
            "load_at_start": load_start,
            "load_after": load_average(),
            "note": "one machine: the client threads, gunicorn's 4 workers and PostgreSQL share its CPUs; the vote "
            "endpoint authorises by the ballot's signature; cookies and CSRF header go with it as the page sends them",
        }
    finally:
        if process is not None:
            _stop(process)
        from django.db import connections

        connections.close_all()
        drop_database(DB_NAME)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("votes_per_second", "statuses", "latency", "load_at_start")}))
    print(f"wrote {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
