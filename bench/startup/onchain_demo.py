"""`make run GOVERNANCE_MODE=onchain` from an empty PostgreSQL database: seconds until the proposals page answers
with the Governor deployed, and how fast the demo chain's blocks (the Governor's clock) advance on their own.

    .venv/bin/python -m bench.startup.onchain_demo [--database gov_bench_demo]

Drops and creates the database, starts `make run` on free ports (its own var dir), stops it, and writes
bench/results/startup_onchain.json with the load averages before and after.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg

from bench import load_average
from chain.anvil import free_port

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "startup_onchain.json"


def _rpc(url: str, method: str, *params: object) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})  # noqa: S310 - http://127.0.0.1
    return json.load(urllib.request.urlopen(request, timeout=5))["result"]  # noqa: S310


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="gov_bench_demo")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--timeout", type=float, default=600)
    options = parser.parse_args()
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{options.database}"')
        admin.execute(f'CREATE DATABASE "{options.database}"')
    web, chain = free_port("127.0.0.1"), free_port("127.0.0.1")
    var = Path(tempfile.mkdtemp(prefix="riskgov-onchain-demo-"))
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{options.database}",
           "REDIS_URL": options.redis, "RISKGOV_VAR_DIR": str(var)}  # fmt: skip
    load_before = load_average()
    started = time.monotonic()
    log = (var / "run.log").open("wb")
    process = subprocess.Popen(
        ["make", "run", "GOVERNANCE_MODE=onchain", f"PORT={web}", f"CHAIN_PORT={chain}",
         f"CHAIN_STATE={var / 'anvil-state.json'}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    result: dict[str, object] = {"database": "postgresql (fresh)", "load_before": load_before}
    try:
        page_at = deployed_at = None
        while time.monotonic() - started < options.timeout and deployed_at is None:
            time.sleep(1)
            text = (var / "run.log").read_text(errors="replace")
            if page_at is None and "RiskGov is up at" in text:
                page_at = time.monotonic() - started
            if "deployed the protocol" in text and "(onchain governance)" in text:
                deployed_at = time.monotonic() - started
        if deployed_at is None or page_at is None:
            raise SystemExit(f"the demo did not come up in {options.timeout:.0f} s; see {var / 'run.log'}")
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/governance/", timeout=30) as response:
            page = response.read().decode()
            assert response.status == 200 and "Governor" in page
        rpc = f"http://127.0.0.1:{chain}"
        first = int(str(_rpc(rpc, "eth_blockNumber")), 16)
        time.sleep(10)
        last = int(str(_rpc(rpc, "eth_blockNumber")), 16)
        blocks = [_rpc(rpc, "eth_getBlockByNumber", hex(n), False) for n in range(first + 1, last + 1)]
        empty = [int(b["timestamp"], 16) for b in blocks if not b["transactions"]]  # type: ignore[index]
        result.update({
            "seconds_to_first_page": round(page_at, 1),
            "seconds_to_governor_deployed": round(deployed_at, 1),
            "blocks_in_10_s": len(blocks),
            "empty_blocks_in_10_s (mined on the timer)": len(empty),
            "seconds_between_empty_blocks": sorted({b - a for a, b in itertools.pairwise(empty)}),
            "proposals_page_status": 200,
        })  # fmt: skip
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        log.close()
    result["load_after"] = load_average()
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
