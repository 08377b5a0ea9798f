"""Page latency as users get it: HTTP GETs against gunicorn with 8 concurrent clients, at 1M open positions.

On a fresh PostgreSQL database (migrations, the demo's markets, parameters and prices from `demo_seed` at a small
size, then ``POSITIONS`` open positions over ``ACCOUNTS`` accounts bulk-loaded with COPY and vacuumed), a real
gunicorn (sync workers and an access log, as Procfile.production runs it; bench.pages.settings: the test settings
with DEBUG off and the Redis cache, and production's persistent database connections) serves:

- the positions list: the first page and a deep page (the page cursor after ``DEEP_ROWS`` rows, the link a person
  reaches by paging, taken from the selector itself) for several filters and sorts, an account search;
- the dashboard, the markets list and a market page.

Cold: a freshly started gunicorn with the Redis cache flushed, each URL requested once in turn (the first visitor
of each page). Warm: then ``CLIENTS`` threads request the URLs in a fixed rotation for ``--seconds``, each on a
new connection (sync workers close it); p50/p95/max per URL and overall. Goal: p95 ≤ 150 ms warm.

The client is http.client (a GET on a fresh connection, as a browser's first request), and the run records the
CPU it used per request, as it does for the gunicorn workers and for the PostgreSQL backends that serve them
(from /proc): on 2 shared cores every millisecond of each counts against the latency of the others.

    python -m bench.pages                       # 1,000,000 positions
    python -m bench.pages --positions 100000    # a smaller run

Writes bench/results/pages.json with the machine's load averages before and after each phase. Database
bench_pages on BENCH_PG_URL's server, dropped at the end; Redis database BENCH_REDIS_DB (flushed).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import load_average

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "bench" / "results" / "pages.json"
DATABASE = "bench_pages"
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "12")
POSITIONS = 1_000_000
ACCOUNTS = 50_000
CLIENTS = 8
WORKERS = 4  # Procfile.production's default WEB_CONCURRENCY
DEEP_ROWS = 5_000  # a deep page: the 101st of 50 rows
GOAL_P95_MS = 150
REQUEST_TIMEOUT = 60.0
COPY_BATCH = 100_000


def _percentiles(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"n": 0}
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p95_ms": round(1000 * p95, 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def _get(base: str, path: str) -> tuple[int, float]:
    """GET `path` from `base` (http://host:port) on a new connection: (status, seconds); status 0 when it failed."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, int(port), timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        status = 0
    finally:
        connection.close()
    return status, time.perf_counter() - started


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class _CpuSampler(threading.Thread):
    """The CPU used so far by each gunicorn process and by each PostgreSQL backend connected to the benchmark's
    database, sampled every half second: a backend that closes during the phase (its connection reached
    CONN_MAX_AGE) counts up to its last sample, one that opens counts from zero."""

    def __init__(self, server: subprocess.Popen[bytes]) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.seen: dict[str, dict[int, float]] = {"gunicorn": {}, "postgres": {}}
        self.stopping = threading.Event()
        import psycopg

        from bench.database import SERVER_URL

        self.connection = psycopg.connect(SERVER_URL, autocommit=True)

    def sample(self) -> dict[str, dict[int, float]]:
        rows = self.connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [DATABASE]
        ).fetchall()
        now = {
            "gunicorn": {pid: _cpu_seconds(pid) for pid in [self.server.pid, *_children(self.server.pid)]},
            "postgres": {int(row[0]): _cpu_seconds(int(row[0])) for row in rows},
        }
        for kind, cpus in now.items():
            for pid, cpu in cpus.items():
                self.seen[kind][pid] = max(cpu, self.seen[kind].get(pid, 0.0))
        return now

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            self.sample()

    def used(self, before: dict[str, dict[int, float]]) -> dict[str, float]:
        """CPU seconds per kind since `before` (an earlier `sample()`)."""
        self.stopping.set()
        self.join()
        self.sample()
        self.connection.close()
        return {
            kind: sum(cpu - before[kind].get(pid, 0.0) for pid, cpu in cpus.items()) for kind, cpus in self.seen.items()
        }


# ---- data ------------------------------------------------------------------------------------------------------


def _seed(positions: int, accounts: int) -> dict[str, Any]:
    """Migrate, the demo's markets/parameters/prices (small), then `positions` open positions by COPY."""
    from bench.database import fresh_django_database

    started = time.perf_counter()
    fresh_django_database(DATABASE)
    migrated = time.perf_counter()
    from riskgov.demo.services.markets import demo_seed

    demo_seed(seed=7, positions=100, days=2, snapshot_days=0)
    import numpy as np
    from django.db import connection

    from riskgov.demo.services.markets import DEMO_MARKETS, demo_address
    from riskgov.markets.models import Market

    markets = list(Market.objects.filter(symbol__in=[m.symbol for m in DEMO_MARKETS]).order_by("pk"))
    prices = np.array([spec.price for spec in DEMO_MARKETS], dtype=float)
    max_leverage = np.array([spec.max_leverage for spec in DEMO_MARKETS], dtype=float)
    weights = np.array([spec.weight for spec in DEMO_MARKETS], dtype=float)
    rng = np.random.default_rng(11)
    now = datetime.now(UTC)
    raw = connection.connection  # psycopg 3: COPY ... FROM STDIN
    with raw.cursor() as cursor:
        with cursor.copy("COPY riskgov_account (address, label, created_at) FROM STDIN") as copy:
            for index in range(accounts):
                copy.write_row((demo_address(99, index), f"bench #{index}", now))
        cursor.execute("SELECT id FROM riskgov_account WHERE label LIKE 'bench #%%' ORDER BY id")
        account_ids = np.array([row[0] for row in cursor.fetchall()])
    loaded_accounts = time.perf_counter()
    columns = "external_id, account_id, market_id, size, entry_price, collateral, status, opened_at, updated_at"
    for start in range(0, positions, COPY_BATCH):
        count = min(COPY_BATCH, positions - start)
        market = rng.choice(len(markets), size=count, p=weights / weights.sum())
        long = rng.random(count) < 0.55
        entry = prices[market] * np.exp(rng.normal(0, 0.05, size=count))
        notional = np.clip(rng.lognormal(np.log(4_000), 1.5, size=count), 50, 5_000_000)
        leverage = np.clip(np.exp(rng.normal(np.log(3.5), 0.7, size=count)), 1.0, 0.95 * max_leverage[market])
        size = np.where(long, 1, -1) * notional / entry
        collateral = notional / leverage
        account = account_ids[
            np.minimum((len(account_ids) * rng.random(count) ** 2).astype(np.int64), len(account_ids) - 1)
        ]
        opened = now - timedelta(days=30)
        with raw.cursor() as cursor, cursor.copy(f"COPY riskgov_position ({columns}) FROM STDIN") as copy:
            for i in range(count):
                copy.write_row((
                    f"bench-{start + i:07d}", int(account[i]), markets[market[i]].pk, f"{size[i]:.8f}",
                    f"{entry[i]:.8f}", f"{collateral[i]:.2f}", "open", opened + timedelta(seconds=int(i)), now,
                ))  # fmt: skip
        raw.commit()
    loaded = time.perf_counter()
    # VACUUM as autovacuum does after a bulk insert: it sets the visibility map, so counts read the
    # indexes alone (index-only scans) as they do on a database that has been running. Django's connection
    # is in autocommit mode, which VACUUM needs.
    with raw.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) riskgov_position")
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM riskgov_position WHERE status = 'open'")
        (open_count,) = cursor.fetchone()
    raw.commit()
    return {
        "open_positions": open_count,
        "accounts": accounts,
        "migrate_seconds": round(migrated - started, 1),
        "accounts_copy_seconds": round(loaded_accounts - migrated, 1),
        "positions_copy_seconds": round(loaded - loaded_accounts, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
    }


def _deep_cursor(filters: dict[str, str]) -> str:
    """The cursor of the page after DEEP_ROWS rows for `filters`, as the page's own next link carries it."""
    from riskgov.markets.selectors.positions import PositionFilters, open_positions_page

    names = {"market": "market", "side": "side", "distance": "distance_band", "leverage": "leverage_band"}
    kwargs: dict[str, Any] = {names[k]: v for k, v in filters.items() if k in names}
    if "sort" in filters:
        kwargs["sort"] = filters["sort"]
    if "side" in kwargs:
        from riskgov.markets.selectors.positions import LONG, SHORT

        kwargs["side"] = LONG if kwargs["side"] == "long" else SHORT
    page = open_positions_page(filters=PositionFilters(**kwargs), page_size=DEEP_ROWS)
    return page.next_cursor or ""


def _urls(account: str) -> dict[str, str]:
    from urllib.parse import urlencode

    lists = {
        "positions": {},
        "positions market=BTC": {"market": "BTC"},
        "positions side=short sort=notional": {"side": "short", "sort": "notional"},
        "positions distance=20": {"distance": "20"},
        "positions leverage=5-10 market=ETH": {"leverage": "5-10", "market": "ETH"},
    }
    urls: dict[str, str] = {}
    for name, filters in lists.items():
        query = urlencode(filters)
        urls[f"{name} · page 1"] = f"/positions/?{query}"
        cursor = _deep_cursor(filters)
        if cursor:
            urls[f"{name} · page {DEEP_ROWS // 50 + 1}"] = f"/positions/?{urlencode({**filters, 'cursor': cursor})}"
    urls["positions account search"] = f"/positions/?{urlencode({'account': account})}"
    urls["dashboard"] = "/"
    urls["markets"] = "/markets/"
    urls["market BTC"] = "/markets/BTC/"
    return urls


# ---- serving ---------------------------------------------------------------------------------------------------


def _start_gunicorn(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    from chain.anvil import free_port

    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "--config", "python:config.gunicorn",
         "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--timeout", "120", "--access-logfile", "-"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while _get(base, "/healthz")[0] != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"gunicorn did not answer within 120 s:\n{log.read_text()[-4000:]}")
        time.sleep(0.3)
    return process, base


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def _cold(base: str, urls: dict[str, str]) -> dict[str, Any]:
    out = {}
    for name, path in urls.items():
        status, seconds = _get(base, path)
        out[name] = {"status": status, "ms": round(1000 * seconds, 1)}
    return out


def _warm(base: str, urls: dict[str, str], seconds: float, server: subprocess.Popen[bytes]) -> dict[str, Any]:
    names = list(urls)
    timings: dict[str, list[float]] = {name: [] for name in names}
    statuses: dict[str, set[int]] = {name: set() for name in names}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(offset: int) -> None:
        turn = offset
        while time.monotonic() < stop_at:
            name = names[turn % len(names)]
            status, took = _get(base, urls[name])
            with lock:
                timings[name].append(took)
                statuses[name].add(status)
            turn += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    sampler = _CpuSampler(server)
    server_before = sampler.sample()
    sampler.start()
    client_before = time.process_time()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client_before
    server_used = sampler.used(server_before)
    every = [t for values in timings.values() for t in values]

    def per_request_ms(seconds: float) -> float:
        return round(1000 * seconds / max(1, len(every)), 1)

    return {
        "clients": CLIENTS,
        "seconds": round(elapsed, 1),
        "requests_per_second": round(len(every) / elapsed, 1),
        # CPU per request: this process (the client threads and the sampler), the gunicorn processes, and the
        # PostgreSQL backends of the workers' connections
        "cpu_ms_per_request": {
            "client": per_request_ms(client_cpu),
            "gunicorn": per_request_ms(server_used["gunicorn"]),
            "postgres": per_request_ms(server_used["postgres"]),
        },
        "overall": _percentiles(every),
        "by_url": {name: {**_percentiles(timings[name]), "statuses": sorted(statuses[name])} for name in names},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", type=int, default=POSITIONS)
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--seconds", type=float, default=60.0, help="Length of the warm phase.")
    parser.add_argument("--keep-database", action="store_true")
    options = parser.parse_args()
    redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    os.environ.update({"TEST_REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url, "REDIS_URL": redis_url})
    result: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "gunicorn": {"workers": WORKERS, "worker_class": "sync", "settings": "bench.pages.settings"},
        "goal": f"warm p95 ≤ {GOAL_P95_MS} ms at {CLIENTS} concurrent clients",
        "load_before_seed": load_average(),
    }
    process = None
    try:
        result["seed"] = _seed(options.positions, options.accounts)
        result["load_after_seed"] = load_average()
        from django.db import connections

        from bench.database import SERVER_URL
        from riskgov.demo.services.markets import demo_address

        urls = _urls(account=demo_address(99, 3))
        connections.close_all()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.pages.settings",
            "DATABASE_URL": SERVER_URL.rsplit("/", 1)[0] + "/" + DATABASE,
        }
        _flush_redis(redis_url)
        log = Path(tempfile.gettempdir()) / "bench-pages-gunicorn.log"
        process, base = _start_gunicorn(env, log)
        result["load_before_cold"] = load_average()
        result["cold"] = _cold(base, urls)
        result["load_before_warm"] = load_average()
        result["warm"] = _warm(base, urls, options.seconds, process)
        result["load_after_warm"] = load_average()
        worst = max(entry.get("p95_ms", 0) for entry in result["warm"]["by_url"].values())
        result["warm_goal_met"] = worst <= GOAL_P95_MS
        result["warm_worst_p95_ms"] = worst
    finally:
        if process is not None:
            _stop(process)
        if not options.keep_database:
            from bench.database import drop_database

            drop_database(DATABASE)
            result["database_dropped"] = True
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: result[k] for k in ("seed", "warm_worst_p95_ms", "warm_goal_met")}, indent=2))
    print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
