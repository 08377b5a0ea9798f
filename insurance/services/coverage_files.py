"""Array files of coverage runs: frozen inputs, chunk results, merged results, under `coverage/` in the run storage.

The run storage is the `coverage` entry of STORAGES (`RISKGOV_RUN_STORAGE`): the local filesystem under
MEDIA_ROOT by default, or an S3-compatible object store, so workers on other hosts read and deliver the same
files. On the filesystem every file is written to a temporary name and renamed; an object store replaces an
object whole on every PUT. Either way a reader never sees half a file and a re-delivered chunk replaces its
file atomically. Each file's sha256 is stored on its row and checked before the file is used, so a missing
or altered file is never taken for the one that was written.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from numpy.typing import NDArray

from insurance.engine import AdlOutcome, MarketSpec, Portfolio, SimulationConfig, SimulationResult
from insurance.engine.simulation import ADL_FIELDS

COVERAGE_DIR = "coverage"
READ_BLOCK = 1 << 20
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


class CoverageStorageUnavailable(OSError):
    """The run storage refused a write or a read (disk full, object store unreachable or denying access)."""


def run_storage() -> Storage:
    """The storage that holds coverage-run files (STORAGES[RISKGOV_RUN_STORAGE_ALIAS])."""
    return storages[settings.RISKGOV_RUN_STORAGE_ALIAS]


def run_storage_identity() -> str:
    """Which store the run storage is: `filesystem:<directory>` or `<backend>:<bucket>/<prefix>`.

    Recorded on a run at creation; the endpoint is left out, since hosts may reach one store by different
    addresses (a proxy, a private endpoint).
    """
    storage = run_storage()
    local = _local(storage)
    if local is not None:
        return f"filesystem:{Path(local.location).resolve()}"
    bucket = getattr(storage, "bucket_name", "") or ""
    prefix = (getattr(storage, "location", "") or "").strip("/")
    return f"{type(storage).__name__}:{bucket}/{prefix}"


def media_path(relative: str) -> Path:
    """The local path of a file in a filesystem run storage (an object store has none: NotImplementedError)."""
    return Path(run_storage().path(relative))


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return _sha256_of_stream(stream)


def run_directory(run_id: int) -> str:
    """A fresh directory name for a run's files, relative to the run storage's root."""
    return f"{COVERAGE_DIR}/run-{run_id}-{secrets.token_hex(4)}"


def _local(storage: Storage) -> FileSystemStorage | None:
    return storage if isinstance(storage, FileSystemStorage) else None


def _write_atomically(relative: str, write: Callable[[BinaryIO], object]) -> str:
    """Write `relative` in the run storage so that no reader sees half of it; returns the file's sha256."""
    storage = run_storage()
    local = _local(storage)
    if local is None:
        buffer = io.BytesIO()
        write(buffer)
        return _object_put(storage, relative, buffer.getvalue())
    target = Path(local.path(relative))
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


def _object_put(storage: Storage, relative: str, data: bytes) -> str:
    """PUT one object: the store replaces it whole. A store that renames instead of overwriting is refused."""
    try:
        saved = storage.save(relative, ContentFile(data))
    except Exception as error:  # botocore raises its own hierarchy; callers handle OSError
        raise CoverageStorageUnavailable(f"The run storage refused to write {relative}: {error}") from error
    if saved != relative:
        storage.delete(saved)
        raise ImproperlyConfigured(
            f"The run storage saved {relative} as {saved}: it must overwrite (S3 file_overwrite=True)."
        )
    return hashlib.sha256(data).hexdigest()


def _sha256_of_stream(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(READ_BLOCK), b""):
        digest.update(block)
    return digest.hexdigest()


def _open(relative: str, *, what: str) -> BinaryIO:
    """The stored file opened for reading; CoverageFileError when it is missing."""
    storage = run_storage()
    if not relative:
        raise CoverageFileError(f"The {what} file (none) is missing.")
    try:
        return storage.open(relative, "rb")  # type: ignore[return-value]
    except FileNotFoundError:
        raise CoverageFileError(f"The {what} file {relative} is missing.") from None
    except Exception as error:
        if _local(storage) is None and not _exists(storage, relative):
            raise CoverageFileError(f"The {what} file {relative} is missing.") from None
        raise CoverageStorageUnavailable(f"The run storage could not read {relative}: {error}") from error


def _exists(storage: Storage, relative: str) -> bool:
    try:
        return storage.exists(relative)
    except Exception as error:
        raise CoverageStorageUnavailable(f"The run storage could not be asked for {relative}: {error}") from error


def _read(relative: str, *, what: str) -> bytes:
    stream = _open(relative, what=what)
    try:
        with stream:
            return stream.read()
    except Exception as error:
        if _local(run_storage()) is None and not _exists(run_storage(), relative):
            raise CoverageFileError(f"The {what} file {relative} is missing.") from None
        raise CoverageStorageUnavailable(f"The run storage could not read {relative}: {error}") from error


def _refuse_altered(relative: str, actual: str, expected: str, *, what: str) -> None:
    if actual != expected:
        raise CoverageFileError(
            f"The {what} file {relative} was altered after it was written "
            f"(sha256 {actual[:12]}… instead of {expected[:12]}…)."
        )


def arrays_write(relative: str, arrays: Mapping[str, NDArray], *, compress: bool = True) -> str:
    """Write `arrays` as .npz at `relative` in the run storage atomically; returns the file's sha256."""
    save = np.savez_compressed if compress else np.savez
    return _write_atomically(relative, lambda stream: save(stream, **arrays))  # type: ignore[arg-type]


def arrays_encode(arrays: Mapping[str, NDArray], *, compress: bool = True) -> bytes:
    """`arrays` as the bytes of an .npz file, for a file to be written later with `bytes_write`."""
    buffer = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def bytes_write(relative: str, data: bytes) -> str:
    """Write `data` at `relative` in the run storage atomically; returns the file's sha256."""
    return _write_atomically(relative, lambda stream: stream.write(data))


def file_sha256_check(relative: str, expected_sha256: str, *, what: str) -> None:
    """Raise CoverageFileError unless the file exists with the expected sha256 (read in blocks)."""
    with _open(relative, what=what) as stream:
        actual = _sha256_of_stream(stream)
    _refuse_altered(relative, actual, expected_sha256, what=what)


def file_fingerprint(relative: str, *, what: str) -> str:
    """What the run storage says of a file without reading it; it changes whenever the file is written or replaced.

    On disk: size, modification and change times (the change time moves even when the modification time is set
    back) and inode (a rename puts another file in place). On an object store: the object's ETag, size and
    modification time, from one HEAD request. CoverageFileError when the file is missing.
    """
    storage = run_storage()
    local = _local(storage)
    if local is None:
        with _open(relative, what=what) as stream:  # an S3 file opened for reading is a HEAD; its body is not fetched
            head = getattr(stream, "obj", None)
            if head is None:
                return f"{storage.size(relative)}:{storage.get_modified_time(relative).isoformat()}"
            return f"{head.e_tag}:{head.content_length}:{head.last_modified.isoformat()}"
    if not relative:
        raise CoverageFileError(f"The {what} file (none) is missing.")
    try:
        stat = os.stat(local.path(relative))
    except FileNotFoundError:
        raise CoverageFileError(f"The {what} file {relative} is missing.") from None
    except OSError as error:
        raise CoverageStorageUnavailable(f"The run storage could not read {relative}: {error}") from error
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}"


def arrays_read(relative: str, expected_sha256: str, *, what: str) -> dict[str, NDArray]:
    """The arrays of a file whose hash must equal `expected_sha256`; raises CoverageFileError otherwise."""
    data = _read(relative, what=what)
    _refuse_altered(relative, hashlib.sha256(data).hexdigest(), expected_sha256, what=what)
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def run_files_delete(directory: str) -> int:
    """Delete every file of a run's directory from the run storage; returns how many were deleted."""
    if not directory.startswith(f"{COVERAGE_DIR}/run-"):
        raise ValueError(f"{directory!r} is not a coverage run directory")
    storage = run_storage()
    try:
        _, names = storage.listdir(directory)
    except FileNotFoundError:
        return 0
    for name in names:
        storage.delete(f"{directory}/{name}")
    local = _local(storage)
    if local is not None:
        with suppress(OSError):  # a temporary file of a write still under way keeps it
            Path(local.path(directory)).rmdir()
    return len(names)


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
            "market_loss_waterfall": np.array([market.loss_waterfall for market in self.markets], dtype=np.str_),
            "correlation": self.correlation,
            "bootstrap_returns": self.bootstrap_returns,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray]) -> FrozenInputs:
        # inputs frozen before markets had a loss waterfall socialised every shortfall
        waterfalls = arrays.get("market_loss_waterfall", np.full(len(arrays["market_symbol"]), "socialised"))
        markets = tuple(
            MarketSpec(
                symbol=str(symbol),
                price=float(price),
                mmr=float(mmr),
                liquidation_penalty=float(penalty),
                volatility=float(volatility),
                depth=float(depth),
                loss_waterfall=str(waterfall),  # type: ignore[arg-type]
            )
            for symbol, price, mmr, penalty, volatility, depth, waterfall in zip(
                arrays["market_symbol"],
                arrays["market_price"],
                arrays["market_mmr"],
                arrays["market_liquidation_penalty"],
                arrays["market_volatility"],
                arrays["market_depth"],
                waterfalls,
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
    if result.adl is not None:
        arrays |= {f"adl_{name}": getattr(result.adl, name) for name in ADL_FIELDS}
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
        adl=AdlOutcome(**{name: arrays[f"adl_{name}"] for name in ADL_FIELDS}) if "adl_notional" in arrays else None,
        **{name: arrays[name] for name in RESULT_FIELDS},
    )
