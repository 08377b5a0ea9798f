"""Report downloads over HTTP: a report's PDF and CSV before and after they were rendered once per version.

Against a real gunicorn (2 sync workers, as Procfile.production runs them, test settings with DEBUG off, on a
fresh PostgreSQL database with the demo protocol of `seed_demo`) it measures:

- cold: the first GET of one report's PDF and of its CSV;
- warm: repeated GETs of the same files (p50/p95);
- contention: 8 parallel first GETs of a PDF not rendered yet (3 bursts, each on another report) while a GET of
  the dashboard `/` starts every 0.2 s (open loop: one that waits does not hold the next back); the dashboard's
  p50/p95 during the bursts divided by its p50/p95 at idle in the same run, and how long each burst took.

    python -m bench.reports                      # this checkout ("after") and BEFORE_COMMIT ("before")
    python -m bench.reports --only after         # one of them (merged with the entry already stored)

"before" is a `git worktree` of BEFORE_COMMIT in --worktree, made for the run and removed after it; this file is
copied into it and run there (`--measure`), so both trees are measured by the same code with their own
application code, migrations and settings. Before each run it waits (up to --quiet-wait seconds in all) until no
other pytest, gunicorn or Celery process runs, then measures anyway; the load averages are recorded.
Writes bench/results/reports.json. Uses PostgreSQL database bench_reports_<label> on BENCH_PG_URL's server and
Redis database BENCH_REDIS_DB (flushed at the start of each run) for the cache and the broker.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import load_average

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "bench" / "results" / "reports.json"
BEFORE_COMMIT = "605a49d"  # the last commit that rendered a report's PDF and CSV on every request
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "11")
WORKERS = 2
GUNICORN_TIMEOUT = 120  # above the slowest render seen under contention, so no request is cut off
REQUEST_TIMEOUT = 240.0
PROBE_INTERVAL = 0.2
HEAVY = "pytest|gunicorn|celery"


# ---- measuring one tree (runs inside that tree, `--measure`) ----------------------------------------------------


def _percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    p95 = statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 4),
        "p95": round(p95, 4),
        "max": round(max(values), 4),
    }


def _ratio(during: float | int | None, idle: float | int | None) -> float | None:
    return round(during / idle, 2) if during is not None and idle else None


class Http:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str) -> tuple[int, int, float]:
        """(status, body bytes, seconds) of one GET on a new connection."""
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(self.base + path, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310
                body = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            body = error.read()
            status = error.code
        except OSError:  # connection refused or reset (a worker killed mid-request)
            body, status = b"", 0
        return status, len(body), time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(database: str, bursts: int) -> dict[str, Any]:
    """Fresh database, migrations, the demo protocol, and daily reports: yesterday's for the downloads, one of an
    earlier day for each contention burst."""
    from bench.database import fresh_django_database

    started = time.perf_counter()
    fresh_django_database(database)
    migrated = time.perf_counter()
    from django.core.management import call_command

    call_command("seed_demo", "--no-progress", stdout=io.StringIO())
    seeded = time.perf_counter()
    from riskgov.reports.models import ReportSchedule
    from riskgov.reports.services.reports import exposure_report_generate, report_period_resolve

    schedule = ReportSchedule.objects.get(name="Daily protocol report")
    today = datetime.now(UTC).date()
    reports = []
    for days_back in range(1, 2 + bursts):
        period = report_period_resolve(schedule=schedule, period=(today - timedelta(days=days_back)).isoformat())
        reports.append(exposure_report_generate(schedule=schedule, period=period, requested_by="bench").report)
    from django.db import connections

    connections.close_all()
    return {
        "reports": [report.pk for report in reports],
        "periods": [report.period_label for report in reports],
        "has_data": [report.has_data for report in reports],
        "migrate_seconds": round(migrated - started, 1),
        "seed_seconds": round(seeded - migrated, 1),
        "generate_seconds": round(time.perf_counter() - seeded, 1),
    }


def _start_gunicorn(tree: Path, log: Path) -> tuple[subprocess.Popen[bytes], Http]:
    port = _free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(WORKERS), "--timeout", str(GUNICORN_TIMEOUT), "--access-logfile", "-"],
        cwd=tree, env=os.environ.copy(), stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    http = Http(port)
    deadline = time.monotonic() + 60
    while http.get("/")[0] != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"gunicorn did not serve / within 60 s:\n{log.read_text()[-4000:]}")
        time.sleep(0.3)
    for _ in range(2 * WORKERS):  # every worker has loaded the application and opened its connection
        http.get("/")
    return process, http


def _downloads(http: Http, report: int, warm: int, warm_budget: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fmt in ("pdf", "csv"):
        path = f"/reports/{report}/report.{fmt}"
        status, size, seconds = http.get(path)
        warm_seconds: list[float] = []
        statuses = [status]
        started = time.monotonic()
        while len(warm_seconds) < warm and time.monotonic() - started < warm_budget:
            warm_status, _, warm_took = http.get(path)
            statuses.append(warm_status)
            warm_seconds.append(warm_took)
        out[fmt] = {
            "bytes": size,
            "cold_seconds": round(seconds, 4),
            "warm_seconds": _percentiles(warm_seconds),
            "statuses": sorted(set(statuses)),
        }
    return out


def _contention(http: Http, reports: list[int], parallel: int, idle_seconds: float) -> dict[str, Any]:
    """For each of `reports` in turn, `parallel` simultaneous first GETs of its PDF, while a GET of `/` starts every
    PROBE_INTERVAL whether or not the one before has answered (as visitors arrive), so a blocked site shows as every
    probe that waited, not one. Idle: the probes that ended before the first burst; during: those started within a
    burst. A probe's latency runs from its start to the end of its response."""
    probes: list[tuple[float, float, int]] = []  # (start, end, status)
    stop = threading.Event()
    probing: list[threading.Thread] = []

    def one_probe() -> None:
        started = time.monotonic()
        status, _, _ = http.get("/")
        probes.append((started, time.monotonic(), status))

    def probe() -> None:
        tick = time.monotonic()
        while not stop.is_set():
            thread = threading.Thread(target=one_probe, daemon=True)
            thread.start()
            probing.append(thread)
            tick += PROBE_INTERVAL
            time.sleep(max(0.0, tick - time.monotonic()))

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    time.sleep(idle_seconds)
    bursts: list[tuple[float, float]] = []
    results: list[tuple[int, int, float]] = []
    for report in reports:
        barrier = threading.Barrier(parallel + 1)

        def download(report: int = report, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            results.append(http.get(f"/reports/{report}/report.pdf"))

        clients = [threading.Thread(target=download) for _ in range(parallel)]
        for client in clients:
            client.start()
        barrier.wait()
        burst_start = time.monotonic()
        for client in clients:
            client.join()
        bursts.append((burst_start, time.monotonic()))
        time.sleep(1.0)  # the probes queued behind the burst are answered before the next one
    stop.set()
    prober.join(timeout=REQUEST_TIMEOUT)
    for thread in probing:
        thread.join(timeout=REQUEST_TIMEOUT)
    first = bursts[0][0]
    idle = [end - start for start, end, _ in probes if end < first]
    during = [end - start for start, end, _ in probes if any(b_start <= start <= b_end for b_start, b_end in bursts)]
    idle_stats, during_stats = _percentiles(idle), _percentiles(during)
    return {
        "reports": reports,
        "parallel_pdf_requests": parallel,
        "burst_seconds": [round(end - start, 2) for start, end in bursts],
        "pdf_seconds": _percentiles([seconds for _, _, seconds in results]),
        "pdf_statuses": {
            str(code): [status for status, _, _ in results].count(code) for code in {r[0] for r in results}
        },
        "dashboard_idle_seconds": idle_stats,
        "dashboard_during_burst_seconds": during_stats,
        "dashboard_statuses": sorted({status for _, _, status in probes}),
        "ratio_p50": _ratio(during_stats["p50"], idle_stats["p50"]),
        "ratio_p95": _ratio(during_stats["p95"], idle_stats["p95"]),
    }


def measure(tree: Path, *, database: str, warm: int, warm_budget: float, parallel: int, bursts: int) -> dict[str, Any]:
    load_before = load_average()
    started = time.monotonic()
    import redis

    redis.Redis.from_url(os.environ["TEST_REDIS_URL"]).flushdb()  # render locks and counters of an earlier run
    seeded = _seed(database, bursts)
    log = Path(os.environ["RISKGOV_VAR_DIR"]) / "gunicorn.log"
    process, http = _start_gunicorn(tree, log)
    try:
        first, *fresh = seeded["reports"]
        downloads = _downloads(http, first, warm, warm_budget)
        contention = _contention(http, fresh, parallel, idle_seconds=3.0)
    finally:
        process.terminate()
        process.wait(timeout=30)
    worker_timeouts = log.read_text().count("WORKER TIMEOUT")
    return {
        "setup": seeded,
        "downloads": downloads,
        "contention": contention,
        "gunicorn": {"workers": WORKERS, "worker_class": "sync", "timeout": GUNICORN_TIMEOUT},
        "gunicorn_worker_timeouts": worker_timeouts,
        "run_seconds": round(time.monotonic() - started, 1),
        "loadavg_before": load_before,
        "loadavg_after": load_average(),
    }


# ---- running the measurement in each tree and storing the results -----------------------------------------------


def _git(tree: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=tree, capture_output=True, text=True, check=True).stdout.strip()


def _others_running() -> list[str]:
    found = subprocess.run(["pgrep", "-af", HEAVY], capture_output=True, text=True, check=False).stdout
    own = {str(os.getpid())}
    return [line for line in found.splitlines() if line.split(" ", 1)[0] not in own]


def wait_until_quiet(deadline: float) -> dict[str, Any]:
    started = time.monotonic()
    running = _others_running()
    while running and time.monotonic() < deadline:
        time.sleep(10)
        running = _others_running()
    return {"waited_seconds": round(time.monotonic() - started), "others_running_at_start": len(running)}


def run_tree(tree: Path, label: str, args: argparse.Namespace) -> dict[str, Any]:
    if tree != ROOT:
        (tree / "bench" / "reports").mkdir(parents=True, exist_ok=True)
        for name in ("__init__.py", "__main__.py"):
            shutil.copy(ROOT / "bench" / "reports" / name, tree / "bench" / "reports" / name)
    with tempfile.TemporaryDirectory(prefix=f"bench-reports-{label}-") as var:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DJANGO_DEBUG": "false",
            "RISKGOV_VAR_DIR": var,  # media (stored renderings), static root, logs of this run only
            "TEST_REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "CI": "true",
        }
        command = [sys.executable, "-m", "bench.reports", "--measure", "--database", f"bench_reports_{label}"]
        command += ["--warm", str(args.warm), "--warm-budget", str(args.warm_budget), "--parallel", str(args.parallel)]
        command += ["--bursts", str(args.bursts)]
        done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {label} measurement failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["before", "after"], help="measure one tree only")
    parser.add_argument("--before-commit", default=BEFORE_COMMIT)
    parser.add_argument("--worktree", type=Path, default=Path(tempfile.gettempdir()) / "bench-before")
    parser.add_argument("--warm", type=int, default=10, help="warm GETs of each file")
    parser.add_argument("--warm-budget", type=float, default=60.0, help="seconds at most for each file's warm GETs")
    parser.add_argument("--parallel", type=int, default=8, help="simultaneous first PDF requests")
    parser.add_argument("--bursts", type=int, default=3, help="contention bursts, each on a report not yet rendered")
    parser.add_argument("--quiet-wait", type=float, default=900.0, help="seconds to wait for other heavy processes")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", default="bench_reports", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        out = measure(
            Path.cwd(),
            database=args.database,
            warm=args.warm,
            warm_budget=args.warm_budget,
            parallel=args.parallel,
            bursts=args.bursts,
        )
        print(json.dumps(out))
        return

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    quiet_deadline = time.monotonic() + args.quiet_wait
    for label in ("before", "after"):
        if args.only and label != args.only:
            continue
        quiet = wait_until_quiet(quiet_deadline)
        if label == "before":
            commit = _git(ROOT, "rev-parse", args.before_commit)
            _git(ROOT, "worktree", "add", "--detach", str(args.worktree), commit)
            try:
                measured = run_tree(args.worktree, label, args)
            finally:
                _git(ROOT, "worktree", "remove", "--force", str(args.worktree))
            tree = f"git worktree of {commit[:7]} (before the render-once cache)"
        else:
            commit = _git(ROOT, "rev-parse", "HEAD")
            changed = len(_git(ROOT, "status", "--porcelain", "--untracked-files=no").splitlines())
            measured = run_tree(ROOT, label, args)
            tree = f"this checkout at {commit[:7]} ({changed} files with uncommitted changes)"
        results[label] = {
            "commit": commit,
            "tree": tree,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), **quiet},
            **measured,
        }
        _print(label, results[label])
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"-> {RESULTS}")


def _print(label: str, entry: dict[str, Any]) -> None:
    downloads, contention = entry["downloads"], entry["contention"]
    for fmt in ("pdf", "csv"):
        row = downloads[fmt]
        warm = row["warm_seconds"]
        print(
            f"{label:>6} {fmt}: cold {row['cold_seconds']:.3f} s, warm p50 {warm['p50']} s p95 {warm['p95']} s "
            f"(n={warm['n']}), statuses {row['statuses']}"
        )
    print(
        f"{label:>6} {contention['parallel_pdf_requests']} parallel first PDFs: burst {contention['burst_seconds']} s, "
        f"statuses {contention['pdf_statuses']}; dashboard x{contention['ratio_p50']} p50, "
        f"x{contention['ratio_p95']} p95 of idle; load {entry['loadavg_before']} -> {entry['loadavg_after']}"
    )


if __name__ == "__main__":
    main()
