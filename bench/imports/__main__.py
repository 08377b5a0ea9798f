"""Memory of importing a 50 MB positions CSV: the import before streaming (whole file read, every row held)
and now (read row by row from the file, written in batches). Each variant runs in a fresh process on a fresh
PostgreSQL database; the figure is the growth of the process's peak RSS during the import.

    python -m bench.imports            # both variants, results in bench/results/imports.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import load_average

RESULTS = Path(__file__).resolve().parent.parent / "results" / "imports.json"
BEFORE_REV = "72d787294f6d467ba08525e81c5f05042fbd5b04"  # the last revision that read the whole file
TARGET_BYTES = 50 * 1024 * 1024
ADDRESSES = [f"0x{n:040x}" for n in range(1, 2001)]


def write_csv(path: Path) -> int:
    rows = 0
    with path.open("w") as out:
        out.write("external_id,account,market,size,entry_price,collateral,status,opened_at\n")
        while out.tell() < TARGET_BYTES:
            rows += 1
            account = ADDRESSES[rows % len(ADDRESSES)]
            out.write(f"bench-{rows},{account},ETH,{rows % 97 + 1}.25,3012.5,1500.75,open,2025-01-01T00:00:00Z\n")
    return rows


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise RuntimeError(field)


def run_variant(variant: str, csv_path: Path) -> dict[str, object]:
    from bench.database import fresh_django_database

    fresh_django_database(f"bench_imports_{variant}")
    from riskgov.markets.models import Market

    Market.objects.create(symbol="ETH", name="Ether")
    if variant == "before":
        source = subprocess.run(
            ["git", "show", f"{BEFORE_REV}:riskgov/markets/services/imports.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        module_path = Path(tempfile.mkdtemp()) / "imports_before.py"
        module_path.write_text(source)
        spec = importlib.util.spec_from_file_location("imports_before", module_path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules["imports_before"] = module  # dataclasses look their module up while it loads
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    else:
        from riskgov.markets.services import imports as module
    baseline = _kib("VmRSS")
    started = time.perf_counter()
    if variant == "before":  # as the upload view did: upload.read()
        result = module.import_file(kind="positions", content=csv_path.read_bytes(), fmt="csv")
    else:
        with csv_path.open("rb") as content:
            result = module.import_file(kind="positions", content=content, fmt="csv")
    return {
        "variant": variant,
        "created": result.created,
        "rss_growth_mib": round((_kib("VmHWM") - baseline) / 1024, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", choices=["before", "after"])
    parser.add_argument("--csv")
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, Path(args.csv))))
        return
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "positions.csv"
        rows = write_csv(csv_path)
        size_mib = round(csv_path.stat().st_size / (1024 * 1024), 1)
        runs = []
        for variant in ("before", "after"):
            out = subprocess.run(
                [sys.executable, "-m", "bench.imports", "--variant", variant, "--csv", str(csv_path)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
            print(runs[-1], flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    machine = {
        "cpus": os.cpu_count(),
        "loadavg_1_5_15_before": load_before,
        "loadavg_1_5_15_after": load_average(),
    }
    results = {"csv_mib": size_mib, "rows": rows, "runs": runs, "machine": machine}
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"{size_mib} MiB, {rows} rows -> {RESULTS}")


if __name__ == "__main__":
    main()
