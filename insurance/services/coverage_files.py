"""Array files of coverage runs under MEDIA_ROOT/coverage/: frozen inputs, chunk results, merged results.

Every file is written to a temporary name and renamed, so a reader never sees half a file and a
re-delivered chunk replaces its file atomically. Each file's sha256 is stored on its row and checked
before the file is used.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from django.conf import settings
from numpy.typing import NDArray

from insurance.engine import MarketSpec, Portfolio, SimulationConfig, SimulationResult

COVERAGE_DIR = "coverage"
RESULT_FIELDS = (
    "bad_debt_by_market",
    "penalty_by_market",
    "uncovered_loss",
    "liquidated_notional",
    "liquidated_positions",
    "fund_end",
    "exhausted",
    "required_fund",
)


class CoverageFileError(Exception):
    """A run's array file is missing or differs from the one recorded (hash mismatch)."""


def media_path(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


def run_directory(run_id: int) -> str:
    """A fresh directory name for a run's files, relative to MEDIA_ROOT."""
    return f"{COVERAGE_DIR}/run-{run_id}-{secrets.token_hex(4)}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomically(relative: str, write: Callable[[BinaryIO], object]) -> str:
    """Write MEDIA_ROOT/relative through a temporary file renamed over it; returns the file's sha256."""
    target = media_path(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        digest = sha256_of(Path(temporary))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return digest


def arrays_write(relative: str, arrays: Mapping[str, NDArray], *, compress: bool = True) -> str:
    """Write `arrays` as .npz at MEDIA_ROOT/relative atomically; returns the file's sha256."""
    save = np.savez_compressed if compress else np.savez
    return _write_atomically(relative, lambda stream: save(stream, **arrays))  # type: ignore[arg-type]


def arrays_encode(arrays: Mapping[str, NDArray], *, compress: bool = True) -> bytes:
    """`arrays` as the bytes of an .npz file, for a file to be written later with `bytes_write`."""
    buffer = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def bytes_write(relative: str, data: bytes) -> str:
    """Write `data` at MEDIA_ROOT/relative atomically; returns the file's sha256."""
    return _write_atomically(relative, lambda stream: stream.write(data))


def file_sha256_check(relative: str, expected_sha256: str, *, what: str) -> None:
    """Raise CoverageFileError unless the file exists with the expected sha256."""
    path = media_path(relative)
    if not relative or not path.is_file():
        raise CoverageFileError(f"The {what} file {relative or '(none)'} is missing.")
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise CoverageFileError(
            f"The {what} file {relative} was altered after it was written "
            f"(sha256 {actual[:12]}… instead of {expected_sha256[:12]}…)."
        )


def arrays_read(relative: str, expected_sha256: str, *, what: str) -> dict[str, NDArray]:
    """The arrays of a file whose hash must equal `expected_sha256`; raises CoverageFileError otherwise."""
    path = media_path(relative)
    if not relative or not path.is_file():
        raise CoverageFileError(f"The {what} file {relative or '(none)'} is missing.")
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise CoverageFileError(
            f"The {what} file {relative} was altered after it was written "
            f"(sha256 {actual[:12]}… instead of {expected_sha256[:12]}…)."
        )
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


@dataclass(frozen=True)
class FrozenInputs:
    """The engine inputs of a run as frozen at creation: positions, markets and model data."""

    portfolio: Portfolio
    markets: tuple[MarketSpec, ...]
    correlation: NDArray[np.float64]
    bootstrap_returns: NDArray[np.float64]

    def to_arrays(self) -> dict[str, NDArray]:
        return {
            "position_market": self.portfolio.market,
            "position_size": self.portfolio.size,
            "position_entry_price": self.portfolio.entry_price,
            "position_collateral": self.portfolio.collateral,
            "market_symbol": np.array([market.symbol for market in self.markets], dtype=np.str_),
            "market_price": np.array([market.price for market in self.markets]),
            "market_mmr": np.array([market.mmr for market in self.markets]),
            "market_liquidation_penalty": np.array([market.liquidation_penalty for market in self.markets]),
            "market_volatility": np.array([market.volatility for market in self.markets]),
            "market_depth": np.array([market.depth for market in self.markets]),
            "correlation": self.correlation,
            "bootstrap_returns": self.bootstrap_returns,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray]) -> FrozenInputs:
        markets = tuple(
            MarketSpec(
                symbol=str(symbol),
                price=float(price),
                mmr=float(mmr),
                liquidation_penalty=float(penalty),
                volatility=float(volatility),
                depth=float(depth),
            )
            for symbol, price, mmr, penalty, volatility, depth in zip(
                arrays["market_symbol"],
                arrays["market_price"],
                arrays["market_mmr"],
                arrays["market_liquidation_penalty"],
                arrays["market_volatility"],
                arrays["market_depth"],
                strict=True,
            )
        )
        portfolio = Portfolio(
            market=arrays["position_market"],
            size=arrays["position_size"],
            entry_price=arrays["position_entry_price"],
            collateral=arrays["position_collateral"],
        )
        return cls(
            portfolio=portfolio,
            markets=markets,
            correlation=arrays["correlation"],
            bootstrap_returns=arrays["bootstrap_returns"],
        )


def result_to_arrays(result: SimulationResult, *, with_fund_path: bool) -> dict[str, NDArray]:
    arrays = {name: getattr(result, name) for name in RESULT_FIELDS}
    arrays["path_range"] = np.array([result.path_start, result.path_stop], dtype=np.int64)
    if with_fund_path and result.fund_path is not None:
        arrays["fund_path"] = result.fund_path
    return arrays


def result_from_arrays(
    arrays: Mapping[str, NDArray],
    *,
    seed: int,
    fund_balance: float,
    config: SimulationConfig,
    symbols: tuple[str, ...],
    engine_version: str,
) -> SimulationResult:
    start, stop = (int(value) for value in arrays["path_range"])
    return SimulationResult(
        path_start=start,
        path_stop=stop,
        seed=seed,
        fund_balance=fund_balance,
        config=config,
        symbols=symbols,
        engine_version=engine_version,
        fund_path=arrays.get("fund_path"),
        **{name: arrays[name] for name in RESULT_FIELDS},
    )
