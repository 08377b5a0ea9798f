"""Liquidation-shortfall simulation: how much bad debt the insurance fund must absorb.

Pure NumPy/numba; no Django, no I/O outside ``__main__``. Units: sizes in base units (signed,
> 0 long, < 0 short), prices in quote per base, collateral/depth/money in quote units, rates as
fractions (0.03 = 3 %), volatility and drift annualised over a 365-day year.

Mechanics
---------
A position has signed size s (q = |s|), entry price e and collateral C. At price p its equity is
E = C + s·(p − e) and its notional N = q·p; it is liquidatable when E < mmr·N, i.e. when a long's
p < L = (s·e − C) / (s·(1 − mmr)) or a short's p > L = (C + q·e) / (q·(1 + mmr)).

For every path, oracle step t = 0 … T (t = 0 is today) and market m, in market order:

1. Flag. The market price is P = model price[t, m] × D_m, where D_m (initially 1) is the
   permanent displacement left by earlier cascades. Every live, unflagged position that is
   liquidatable at P is flagged at step t. Positions liquidatable today are flagged at t = 0.
2. Execute. Positions flagged at step t − d (d = ``liquidation_delay_steps``) execute now; at
   the last step T every flagged position that has not executed yet executes (there is no later
   step). With d = 0 positions execute in the step that flagged them. All positions executing in
   market m in the same round execute at one price: longs at x = P·(1 − I), shorts at
   x = P·(1 + I), with I = 0 ("none"), k·V/depth ("linear") or k·√(V/depth) ("sqrt"), capped at
   0.99, where V = P·Σq is the gross notional (longs plus shorts, at the oracle price P)
   executing in the round and k = ``impact_coefficient``.
   Each position leaves bad debt max(0, −(C + s·(x − e))) and pays the penalty
   min(penalty·q·x, max(0, C + s·(x − e))) into the fund.
3. Cascade (``cascade=True`` only). If I > 0 the executions move the market permanently:
   P ← P·(1 − I·(V_long − V_short)/V) and D_m is multiplied by the same factor, so long
   liquidations push the price down to their execution price, short ones push it up, and mixed
   rounds move it by the net flow. Then steps 1–3 repeat at the moved price (new flags, and with
   d = 0 or at t = T their execution, with the impact of the new round's V only) until a round
   executes nothing or ``max_cascade_rounds`` rounds have run; after the bound the last move
   stands and whatever it made liquidatable is flagged at the next step it is still
   liquidatable. With d > 0 and t < T the only executions are the flags from t − d, so a cascade
   round moves the price once and the positions this flags execute d steps later.

After all markets of step t: F_t = F_{t−1} + penalties_t − bad_debt_t (F_{−1} = fund_balance);
if F_t < 0 the shortfall is uncovered (socialised) loss, uncovered += −F_t and F_t = 0; a path
whose fund falls below zero is ``exhausted``. In markets whose ``loss_waterfall`` is "adl" their
share of the shortfall is paid by auto-deleveraging profitable opposite positions instead (see
``adl``). ``required_fund`` is the smallest starting fund that a path would not exhaust,
max(0, max_t −Σ_{u≤t}(penalties_u − bad_debt_u)).

Speed and exactness
-------------------
Each market's longs and shorts are sorted once by bankruptcy price B (L is B/(1 ∓ mmr), so the
same order), with double-double prefix sums of q and of q·B (see ``ladder``). Flags only advance
when the price makes a new running minimum (longs) or maximum (shorts), found by binary search;
an execution band is split by two more binary searches into bankrupt / partly-penalised /
fully-penalised positions whose totals are exact band sums. A step costs O(markets) plus
O(log n) per new extreme or executed band, never O(positions); cascades and delays use the
same frontiers and sums. Paths run in fixed blocks of ``BLOCK_PATHS`` (prices generated and
liquidated block by block on as many threads as asked), so memory is bounded by a block per thread.

Determinism
-----------
Block b (``BLOCK_PATHS`` paths) draws from ``SeedSequence(seed).spawn(n)[b]``; ``simulate(...,
path_range=(a, b))`` runs only those paths and ``SimulationResult.concatenate`` of adjacent
ranges equals one run bit for bit, whatever the chunk size, the number of workers or the number
of threads (on one platform and one set of NumPy/BLAS versions; heterogeneous machines may differ
in the last bits of exp or matmul).
"""

from .chunks import BLOCK_PATHS, block_seed, chunk_count
from .inputs import MarketSpec, Portfolio, SimulationConfig
from .ladder import LiquidationLadder, build_ladder
from .metrics import CoverageMetrics, Estimate, TailRisk, summarize
from .models import GBM, Bootstrap, ExplicitPaths, MertonJump, PriceModel, StudentT
from .paired import PairedDeltas, PairedSample, paired_deltas
from .simulation import AdlOutcome, SimulationResult, price_paths, simulate
from .stress import NAMED_SCENARIOS, StressScenario
from .version import ENGINE_VERSION

__all__ = [
    "BLOCK_PATHS",
    "ENGINE_VERSION",
    "GBM",
    "NAMED_SCENARIOS",
    "AdlOutcome",
    "Bootstrap",
    "CoverageMetrics",
    "Estimate",
    "ExplicitPaths",
    "LiquidationLadder",
    "MarketSpec",
    "MertonJump",
    "PairedDeltas",
    "PairedSample",
    "Portfolio",
    "PriceModel",
    "SimulationConfig",
    "SimulationResult",
    "StressScenario",
    "StudentT",
    "TailRisk",
    "block_seed",
    "build_ladder",
    "chunk_count",
    "paired_deltas",
    "price_paths",
    "simulate",
    "summarize",
]
