"""Start-up of the `make run` demo: seeding a fresh checkout, and a second start on a set-up one.

In a temporary var/ directory (SQLite, as `make run` uses it) it times, each as its own process:

- fresh: ``manage.py demo_prepare`` (migrations, then seed_demo: 20k positions, 180 days of hourly prices in 8
  markets, exposure snapshot history, liquidation history, insurance fund and its baseline coverage run), with
  seed_demo's own stage timings;
- again: the same command on the set-up directory (nothing to do);
- web: ``manage.py runserver`` as the Procfile starts it, until `/` answers 200 (the readiness check's poll).

    python -m bench.startup

Writes bench/results/startup.json with the machine's load averages before and after each step. Redis database
BENCH_REDIS_DB (default 13) for the demo's cache and broker; nothing is left behind.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load_average
from chain.anvil import free_port
from riskgov.core.readiness import web_wait

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "bench" / "results" / "startup.json"
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "13")
STAGE = re.compile(r"^\s*(?P<stage>[a-z ,+&-]+): [\d,]+ \((?P<seconds>[\d.]+) s\)$")
SEEDED = re.compile(r"seeded \(seed \d+\) in (?P<seconds>[\d.]+) s")
FUND = re.compile(r"insurance fund .* in (?P<seconds>[\d.]+) s")


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def _stages(output: str) -> dict[str, float]:
    stages = {m["stage"]: float(m["seconds"]) for line in output.splitlines() if (m := STAGE.match(line))}
    if seeded := SEEDED.search(output):
        stages["protocol total"] = float(seeded["seconds"])
    if fund := FUND.search(output):
        stages["insurance fund and baseline run"] = float(fund["seconds"])
    return stages


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="riskgov-startup-"))
    redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "RISKGOV_VAR_DIR": str(var),
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{var / 'riskgov.sqlite3'}",
    }
    python = sys.executable
    result: dict[str, Any] = {
        "benchmark": "startup",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "database": "SQLite under var/ (the make run default)",
    }
    try:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        load = load_average()
        seconds, output = _timed([python, "manage.py", "demo_prepare", "--seed", "7"], env)
        result["fresh"] = {"seconds": round(seconds, 1), "stages": _stages(output), "load": [load, load_average()]}
        load = load_average()
        seconds, output = _timed([python, "manage.py", "demo_prepare", "--seed", "7"], env)
        assert "already present" in output, output
        result["again"] = {"seconds": round(seconds, 1), "load": [load, load_average()]}
        port = free_port()
        load = load_average()
        started = time.perf_counter()
        web = subprocess.Popen(
            [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            answer, _waited = web_wait(f"http://127.0.0.1:{port}/", timeout=120)
            result["web_first_page"] = {
                "status": answer.status,
                "seconds": round(time.perf_counter() - started, 1),
                "load": [load, load_average()],
            }
        finally:
            web.terminate()
            web.wait(timeout=30)
        result["second_start_to_working_page_seconds"] = round(
            result["again"]["seconds"] + result["web_first_page"]["seconds"], 1
        )
        result["goals"] = {"fresh_seed_seconds": 20, "second_start_seconds": 20}
        result["notes"] = (
            "fresh includes migrating an empty SQLite file; the issue's figure before the bulk writes was 122 s "
            "(89 s protocol, 33 s insurance fund). The second start is demo_prepare with nothing to do plus "
            "runserver until / answers; honcho starts web, worker, beat and chain at once, so the page works then."
        )
    finally:
        shutil.rmtree(var, ignore_errors=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
