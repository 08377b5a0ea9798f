"""`simulate`: generate price paths chunk by chunk and liquidate the book along them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from .adl import HAIRCUT_BINS, HAIRCUT_EDGES, queue_capacity
from .chunks import BlockSlice, block_generator, block_slices
from .inputs import (
    MarketSpec,
    Portfolio,
    SimulationConfig,
    check_finite_scalar,
    market_vector,
    validate_markets,
)
from .kernel import IMPACT_LINEAR, IMPACT_NONE, IMPACT_SQRT, pack_prefix, simulate_block
from .ladder import LiquidationLadder, build_ladder
from .models import PriceModel
from .version import ENGINE_VERSION

_IMPACT_CODES = {"none": IMPACT_NONE, "linear": IMPACT_LINEAR, "sqrt": IMPACT_SQRT}

PER_PATH_FIELDS = (
    "bad_debt",
    "penalty_income",
    "uncovered_loss",
    "liquidated_notional",
    "fund_end",
    "exhausted",
    "required_fund",
    "liquidated_positions",
)


ADL_FIELDS = ("notional", "haircut", "over_haircut", "accounts", "haircut_max", "haircut_histogram")


@dataclass(frozen=True, eq=False)
class AdlOutcome:
    """Per-path auto-deleveraging outcomes of the "adl" markets (see ``insurance.engine.adl``), quote units.

    notional: Σ δ·B of winners' quantity closed at bankruptcy prices; haircut: what winners paid in total;
    over_haircut: what they paid beyond the deficit of the fund they covered (kept by the fund);
    accounts: winners hit (positions, each an isolated-margin account); haircut_max: the largest
    haircut of one winner; haircut_histogram: (paths, HAIRCUT_BINS) winners per haircut bin, bin edges
    ``insurance.engine.adl.HAIRCUT_EDGES`` (bin i holds haircuts h with edges[i−1] <= h < edges[i]).
    """

    notional: NDArray[np.float64]
    haircut: NDArray[np.float64]
    over_haircut: NDArray[np.float64]
    accounts: NDArray[np.int64]
    haircut_max: NDArray[np.float64]
    haircut_histogram: NDArray[np.int64]

    @classmethod
    def zeros(cls, n_paths: int) -> AdlOutcome:
        return cls(
            notional=np.zeros(n_paths),
            haircut=np.zeros(n_paths),
            over_haircut=np.zeros(n_paths),
            accounts=np.zeros(n_paths, dtype=np.int64),
            haircut_max=np.zeros(n_paths),
            haircut_histogram=np.zeros((n_paths, HAIRCUT_BINS), dtype=np.int64),
        )

    def rows(self, rows: slice) -> AdlOutcome:
        """Views of the given path rows (the kernel writes into them)."""
        return AdlOutcome(**{name: getattr(self, name)[rows] for name in ADL_FIELDS})

    @classmethod
    def concatenate(cls, parts: Sequence[AdlOutcome]) -> AdlOutcome:
        return cls(**{name: np.concatenate([getattr(part, name) for part in parts]) for name in ADL_FIELDS})


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Per-path outcomes of global paths [path_start, path_stop). Money in quote units.

    bad_debt, penalty_income: totals over the horizon; uncovered_loss: bad debt the fund could not
    absorb (socialised); liquidated_notional: Σ q·P at the oracle price of execution; fund_end: fund
    after the last step; exhausted: the fund fell below zero at some step; required_fund: smallest starting fund that
    would not have been exhausted on this path (the peak cumulative net loss);
    bad_debt_by_market / penalty_by_market: (paths, markets); fund_path: (paths, steps + 1) fund
    after each step, or None when not recorded. adl: auto-deleveraging outcomes when any market's loss
    waterfall is "adl" (None otherwise); uncovered_loss then holds only what no winner paid.
    """

    path_start: int
    path_stop: int
    seed: int
    fund_balance: float
    config: SimulationConfig
    symbols: tuple[str, ...]
    engine_version: str
    bad_debt_by_market: NDArray[np.float64]
    penalty_by_market: NDArray[np.float64]
    uncovered_loss: NDArray[np.float64]
    liquidated_notional: NDArray[np.float64]
    liquidated_positions: NDArray[np.int64]
    fund_end: NDArray[np.float64]
    exhausted: NDArray[np.bool_]
    required_fund: NDArray[np.float64]
    fund_path: NDArray[np.float64] | None
    adl: AdlOutcome | None = None

    @property
    def bad_debt(self) -> NDArray[np.float64]:
        """Total bad debt per path (quote)."""
        return self.bad_debt_by_market.sum(axis=1)

    @property
    def penalty_income(self) -> NDArray[np.float64]:
        """Total liquidation penalty paid into the fund per path (quote)."""
        return self.penalty_by_market.sum(axis=1)

    @property
    def n_paths(self) -> int:
        return self.path_stop - self.path_start

    def fund_path_quantiles(self, quantiles: Sequence[float] = (0.01, 0.05, 0.5, 0.95, 0.99)) -> NDArray[np.float64]:
        """(len(quantiles), steps + 1) quantiles of the fund balance after each step (quote)."""
        if self.fund_path is None:
            raise ValueError("fund_path was not recorded (config.record_fund_path=False)")
        return np.quantile(self.fund_path, np.asarray(quantiles, dtype=np.float64), axis=0)

    @classmethod
    def concatenate(cls, results: Sequence[SimulationResult]) -> SimulationResult:
        """Merge results of adjacent path ranges of one run; equals one run over the union, bit for bit."""
        if not results:
            raise ValueError("results must not be empty")
        ordered = sorted(results, key=lambda result: result.path_start)
        first = ordered[0]
        for previous, current in itertools.pairwise(ordered):
            if current.path_start != previous.path_stop:
                raise ValueError(
                    f"results must cover adjacent path ranges; gap or overlap at path "
                    f"{previous.path_stop} / {current.path_start}"
                )
        for result in ordered[1:]:
            same_run = (
                result.seed == first.seed
                and result.config == first.config
                and result.fund_balance == first.fund_balance
                and result.symbols == first.symbols
                and result.engine_version == first.engine_version
            )
            if not same_run:
                raise ValueError("results must come from the same run (seed, config, fund_balance, markets, version)")

        def stack(name: str) -> NDArray:
            return np.concatenate([getattr(result, name) for result in ordered])

        fund_paths = [result.fund_path for result in ordered]
        adl_parts = [result.adl for result in ordered]
        if any(part is None for part in adl_parts) and not all(part is None for part in adl_parts):
            raise ValueError("results must all have auto-deleveraging outcomes or none")
        return cls(
            path_start=first.path_start,
            path_stop=ordered[-1].path_stop,
            seed=first.seed,
            fund_balance=first.fund_balance,
            config=first.config,
            symbols=first.symbols,
            engine_version=first.engine_version,
            bad_debt_by_market=stack("bad_debt_by_market"),
            penalty_by_market=stack("penalty_by_market"),
            uncovered_loss=stack("uncovered_loss"),
            liquidated_notional=stack("liquidated_notional"),
            liquidated_positions=stack("liquidated_positions"),
            fund_end=stack("fund_end"),
            exhausted=stack("exhausted"),
            required_fund=stack("required_fund"),
            fund_path=None if any(path is None for path in fund_paths) else stack("fund_path"),
            adl=None if adl_parts[0] is None else AdlOutcome.concatenate(adl_parts),  # type: ignore[arg-type]
        )

    def per_path(self) -> dict[str, NDArray]:
        """Per-path columns (path index, totals, and bad debt per market symbol) for tables and files."""
        columns: dict[str, NDArray] = {"path": np.arange(self.path_start, self.path_stop)}
        for name in PER_PATH_FIELDS:
            columns[name] = getattr(self, name)
        for index, symbol in enumerate(self.symbols):
            columns[f"bad_debt_{symbol}"] = self.bad_debt_by_market[:, index]
        if self.adl is not None:
            for name in ("notional", "haircut", "over_haircut", "accounts", "haircut_max"):
                columns[f"adl_{name}"] = getattr(self.adl, name)
        return columns


def _block_prices(
    markets: Sequence[MarketSpec], model: PriceModel, config: SimulationConfig, seed: int, piece: BlockSlice
) -> NDArray[np.float64]:
    """The prices of the paths needed from one block, generated whole from the block's own generator."""
    prices = model.generate(markets, config, block_generator(seed, piece.index), piece.block_start, piece.block_stop)
    needed = np.ascontiguousarray(prices[piece.start - piece.block_start : piece.stop - piece.block_start])
    if not np.all(np.isfinite(needed)) or not np.all(needed > 0):
        raise ValueError("model produced non-finite or non-positive prices; check volatility and drift")
    return needed


def _run_blocks(pieces: Sequence[BlockSlice], run_block: Callable[[BlockSlice], int], threads: int) -> Iterator[int]:
    """Run every block, on `threads` threads; yields the paths of each block as it finishes.

    NumPy's generators, matrix products and ufuncs release the GIL, and so does the kernel, so the
    blocks of one chunk use as many cores as there are threads. Each block writes only its own rows
    of the outputs, so the result does not depend on the thread count or the order blocks finish.
    """
    if threads < 2 or len(pieces) < 2:  # noqa: PLR2004 - one block has nothing to run beside it
        for piece in pieces:
            yield run_block(piece)
        return
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="engine-block")
    try:
        # at most two blocks per thread in flight: memory stays bounded by the block size
        pending = iter(pieces)
        running = {pool.submit(run_block, piece) for piece in itertools.islice(pending, 2 * threads)}
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
                following = next(pending, None)
                if following is not None:
                    running.add(pool.submit(run_block, following))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _resolve_seed(seed: int | None) -> int:
    if seed is None:
        # fresh entropy, recorded in the result so the run can be repeated
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


def _checked_ladder(
    ladder: LiquidationLadder | None, portfolio: Portfolio, markets: Sequence[MarketSpec]
) -> LiquidationLadder:
    """The given ladder if it was built for this book and these markets, else a new one."""
    if ladder is None:
        return build_ladder(portfolio, markets)
    if ladder.n_positions != len(portfolio) or ladder.n_markets != len(markets):
        raise ValueError(
            f"ladder was built for {ladder.n_positions} positions in {ladder.n_markets} markets, "
            f"not this portfolio ({len(portfolio)} in {len(markets)})"
        )
    if ladder.adl_market.tolist() != [market.loss_waterfall == "adl" for market in markets]:
        raise ValueError("ladder was built for other loss waterfalls than these markets'")
    return ladder


def simulate(  # noqa: PLR0913 - the engine's entry point: four inputs, then keyword-only run options
    portfolio: Portfolio,
    markets: Sequence[MarketSpec],
    model: PriceModel,
    config: SimulationConfig | None = None,
    *,
    fund_balance: float,
    seed: int | None = None,
    path_range: tuple[int, int] | None = None,
    progress: Callable[[int], object] | None = None,
    ladder: LiquidationLadder | None = None,
    threads: int | None = None,
) -> SimulationResult:
    """Simulate liquidations of `portfolio` along `model`'s paths and the insurance fund absorbing them.

    fund_balance: the fund at the start, in quote units. path_range=(a, b) simulates only global
    paths a ≤ i < b of the run (default: all `config.paths`); results of adjacent ranges concatenate
    to the full run bit for bit. progress, if given, is called (on the calling thread) with the number
    of paths finished after each block. ladder, if given, is ``build_ladder(portfolio, markets)`` from an earlier call
    with the same portfolio and markets: callers that simulate many ranges of one run (Celery chunk
    workers) sort the book once. threads: how many threads generate and liquidate blocks of paths in
    parallel (default: numba's thread count, NUMBA_NUM_THREADS or ``numba.set_num_threads``); the
    result is the same bit for bit whatever the number. Raises ValueError naming the offending argument.
    """
    config = config or SimulationConfig()
    if not isinstance(portfolio, Portfolio):
        raise ValueError(f"portfolio must be a Portfolio, got {type(portfolio).__name__}")
    validate_markets(markets, portfolio)
    if not isinstance(model, PriceModel):
        raise ValueError(f"model must be a price model, got {type(model).__name__}")
    model.validate(markets, config)
    fund_start = check_finite_scalar("fund_balance", fund_balance, minimum=0.0)
    run_seed = _resolve_seed(seed)
    start, stop = (0, config.paths) if path_range is None else path_range
    if not (
        isinstance(start, int | np.integer)
        and isinstance(stop, int | np.integer)
        and 0 <= start <= stop <= config.paths
    ):
        raise ValueError(f"path_range must satisfy 0 <= a <= b <= paths ({config.paths}), got {path_range!r}")
    start, stop = int(start), int(stop)

    ladder = _checked_ladder(ladder, portfolio, markets)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    penalty = market_vector(markets, "liquidation_penalty")
    depth = market_vector(markets, "depth")
    n_paths, n_markets, n_times = stop - start, len(markets), config.steps + 1
    bad_debt_by_market = np.zeros((n_paths, n_markets))
    penalty_by_market = np.zeros((n_paths, n_markets))
    liquidated_notional = np.zeros(n_paths)
    liquidated_positions = np.zeros(n_paths, dtype=np.int64)
    uncovered_loss = np.zeros(n_paths)
    fund_end = np.zeros(n_paths)
    exhausted = np.zeros(n_paths, dtype=np.bool_)
    required_fund = np.zeros(n_paths)
    fund_path = np.zeros((n_paths, n_times) if config.record_fund_path else (0, n_times))
    impact_coefficient = float(config.impact_coefficient) if config.impact != "none" else 0.0
    any_adl = bool(ladder.adl_market.any())
    adl = AdlOutcome.zeros(n_paths if any_adl else 0)
    workers = int(threads) if threads is not None else numba.get_num_threads()
    prefix = pack_prefix(ladder.quantity_hi, ladder.quantity_lo, ladder.bankruptcy_value_hi, ladder.bankruptcy_value_lo)
    capacity = queue_capacity(ladder.hull_line, ladder.segment_start, ladder.adl_market)

    def run_block(piece: BlockSlice) -> int:
        needed = _block_prices(markets, model, config, run_seed, piece)
        rows = slice(piece.start - start, piece.stop - start)
        block_adl = adl.rows(rows if any_adl else slice(0, 0))
        simulate_block(
            needed,
            ladder.segment_start,
            ladder.bankruptcy_price,
            ladder.liquidation_price,
            prefix,
            penalty,
            depth,
            _IMPACT_CODES[config.impact],
            impact_coefficient,
            bool(config.cascade),
            int(config.liquidation_delay_steps),
            int(config.max_cascade_rounds),
            fund_start,
            ladder.adl_market,
            ladder.quantity,
            ladder.by_entry,
            ladder.entry_sorted,
            ladder.line_slope,
            ladder.line_intercept,
            ladder.hull_line,
            ladder.hull_len,
            HAIRCUT_EDGES,
            capacity,
            bad_debt_by_market[rows],
            penalty_by_market[rows],
            liquidated_notional[rows],
            liquidated_positions[rows],
            uncovered_loss[rows],
            fund_end[rows],
            exhausted[rows],
            required_fund[rows],
            fund_path[rows] if config.record_fund_path else fund_path,
            bool(config.record_fund_path),
            block_adl.notional,
            block_adl.haircut,
            block_adl.over_haircut,
            block_adl.accounts,
            block_adl.haircut_max,
            block_adl.haircut_histogram,
        )
        return piece.stop - piece.start

    for finished in _run_blocks(list(block_slices(config.paths, start, stop)), run_block, workers):
        if progress is not None:
            progress(finished)

    return SimulationResult(
        path_start=start,
        path_stop=stop,
        seed=run_seed,
        fund_balance=fund_start,
        config=config,
        symbols=tuple(market.symbol for market in markets),
        engine_version=ENGINE_VERSION,
        bad_debt_by_market=bad_debt_by_market,
        penalty_by_market=penalty_by_market,
        uncovered_loss=uncovered_loss,
        liquidated_notional=liquidated_notional,
        liquidated_positions=liquidated_positions,
        fund_end=fund_end,
        exhausted=exhausted,
        required_fund=required_fund,
        fund_path=fund_path if config.record_fund_path else None,
        adl=adl if any_adl else None,
    )


def price_paths(
    markets: Sequence[MarketSpec],
    model: PriceModel,
    config: SimulationConfig,
    *,
    seed: int,
    path_range: tuple[int, int] | None = None,
) -> NDArray[np.float64]:
    """The oracle prices `simulate` would use for paths [a, b) of a run: (b − a, steps + 1, markets)."""
    model.validate(markets, config)
    run_seed = _resolve_seed(seed)
    start, stop = (0, config.paths) if path_range is None else path_range
    pieces = [
        _block_prices(markets, model, config, run_seed, piece) for piece in block_slices(config.paths, start, stop)
    ]
    return np.concatenate(pieces) if pieces else np.zeros((0, config.steps + 1, len(markets)))


__all__ = ["AdlOutcome", "SimulationResult", "price_paths", "simulate"]
