"""Recovery drills: seconds from each fault to the coverage run being finished and stored.

Runs the drill tests (tests/insurance/test_drills.py: real Celery workers on a private redis-server, no beat)
with DRILL_TIMINGS set, so each drill appends the time from its fault (worker SIGKILL, Redis restart, database
connections killed in the merge) to the finished run. `--tree DIR` runs the same drills against another
checkout (e.g. `git archive <commit> | tar -x -C DIR` of the code before a change); a drill that has not
finished `--cap` seconds after its fault is recorded as not recovered. Uses PostgreSQL database
`test_<name>` on BENCH_PG_URL's server and Redis database BENCH_REDIS_DB for the suite's own Redis needs.
Writes bench/results/drills.json (one entry per `--label`, merged with the entries already there).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench import load_average

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "bench" / "results" / "drills.json"
DRILLS = ROOT / "tests" / "insurance" / "test_drills.py"
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "5")


def run_drills(tree: Path, *, cap: float, database: str) -> dict[str, float | None]:
    """{drill: seconds from the fault to the finished run, or None when it did not finish within `cap`}."""
    if tree != ROOT:
        shutil.copy(DRILLS, tree / "tests" / "insurance" / "test_drills.py")
    with tempfile.TemporaryDirectory() as tmp:
        timings = Path(tmp) / "timings.jsonl"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"{PG_URL}/{database}",
            "TEST_REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "CI": "true",
            "DRILL_TIMINGS": str(timings),
            "DRILL_RECOVERY_BOUND": str(cap),
        }
        subprocess.run(
            [sys.executable, "-m", "pytest", "tests/insurance/test_drills.py", "-p", "no:randomly", "-q"],
            cwd=tree,
            env=env,
            check=False,
        )
        measured = [json.loads(line) for line in timings.read_text().splitlines()] if timings.exists() else []
    found = {entry["drill"]: round(entry["recovery_seconds"], 1) for entry in measured}
    names = ("worker SIGKILL mid-run", "Redis restarted mid-run", "database connections killed in the merge")
    return {name: found.get(name) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to run the drills against")
    parser.add_argument("--label", default="after", help="name of this measurement in the results file")
    parser.add_argument("--cap", type=float, default=60.0, help="seconds after a fault to wait for the run")
    parser.add_argument("--database", default="test_bench_drills", help="PostgreSQL test database name")
    parser.add_argument("--note", default="", help="what the tree is, kept with the results")
    args = parser.parse_args()

    load_before = load_average()
    recovery = run_drills(args.tree.resolve(), cap=args.cap, database=args.database)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[args.label] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tree": args.note or ("this checkout" if args.tree.resolve() == ROOT else str(args.tree)),
        "cap_seconds": args.cap,
        "beat": False,
        "recovery_seconds": recovery,  # None: not finished within cap_seconds of the fault
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_1_5_15_before": load_before,
            "loadavg_1_5_15_after": load_average(),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for drill, seconds in recovery.items():
        shown = f"not within {args.cap:.0f} s" if seconds is None else f"{seconds} s"
        print(f"{args.label:>8}  {drill:<44} {shown}")


if __name__ == "__main__":
    main()
