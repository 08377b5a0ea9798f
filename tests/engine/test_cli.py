"""python -m insurance.engine reads a book and markets, prints metrics, writes per-path results."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from insurance.engine.__main__ import main

REPO_ROOT = Path(__file__).resolve().parents[2]


def write_inputs(directory: Path) -> tuple[Path, Path]:
    markets = directory / "markets.json"
    markets.write_text(
        json.dumps(
            {
                "markets": [
                    {
                        "symbol": "ETH",
                        "price": 3000.0,
                        "mmr": 0.03,
                        "liquidation_penalty": 0.01,
                        "volatility": 0.8,
                        "depth": 5e6,
                    },
                    {
                        "symbol": "BTC",
                        "price": 60000.0,
                        "mmr": 0.02,
                        "liquidation_penalty": 0.01,
                        "volatility": 0.6,
                        "depth": 2e7,
                    },
                ],
                "correlation": [[1.0, 0.8], [0.8, 1.0]],
            }
        )
    )
    positions = directory / "positions.csv"
    positions.write_text(
        "market,size,entry_price,collateral\n"
        "ETH,10,3000,1500\nETH,-20,3000,3000\nBTC,1,60000,3000\nBTC,-0.5,61000,2000\n"
    )
    return positions, markets


def test_cli_prints_metrics_and_writes_results(tmp_path: Path) -> None:
    positions, markets = write_inputs(tmp_path)
    output, metrics = tmp_path / "paths.csv", tmp_path / "metrics.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "insurance.engine",
            "--positions",
            str(positions),
            "--markets",
            str(markets),
            "--fund",
            "1000",
            "--paths",
            "300",
            "--steps",
            "24",
            "--horizon-days",
            "2",
            "--cascade",
            "--seed",
            "7",
            "--chunk-size",
            "100",
            "--output",
            str(output),
            "--json",
            str(metrics),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,  # the assertion below shows stderr
    )
    assert completed.returncode == 0, completed.stderr
    assert "P(fund exhausted)" in completed.stdout and "seed 7" in completed.stdout
    assert "300/300" in completed.stderr  # the progress bar finished
    with output.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 300 and "bad_debt_ETH" in rows[0]
    summary = json.loads(metrics.read_text())
    assert summary["paths"] == 300 and 0.0 <= summary["exhaustion_probability"]["value"] <= 1.0


def test_cli_reports_bad_input_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    positions, markets = write_inputs(tmp_path)
    positions.write_text("market,size,entry_price,collateral\nETH,1,3000,-5\n")
    code = main(
        [
            "--positions",
            str(positions),
            "--markets",
            str(markets),
            "--fund",
            "0",
            "--paths",
            "10",
            "--no-progress",
        ]
    )
    assert code == 2
    assert "collateral" in capsys.readouterr().err


def test_cli_runs_a_named_stress_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    positions, markets = write_inputs(tmp_path)
    code = main(
        [
            "--positions",
            str(positions),
            "--markets",
            str(markets),
            "--fund",
            "0",
            "--paths",
            "1",
            "--steps",
            "24",
            "--horizon-days",
            "1",
            "--model",
            "stress",
            "--scenario",
            "march_2020",
            "--seed",
            "0",
            "--no-progress",
        ]
    )
    assert code == 0
    assert "P(fund exhausted)" in capsys.readouterr().out
