"""Collect and freeze what a coverage run simulates: markets at their mark prices under the chosen
parameter set, every open position, and volatilities/correlation estimated from stored prices."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from insurance.engine import MarketSpec, Portfolio
from insurance.models import ParameterSet, PriceModelKind
from insurance.selectors.price_history import VolatilityEstimate, volatility_estimate
from insurance.services.coverage_files import FrozenInputs
from riskgov.markets.models import PARAMETER_FIELDS, MarginParameters
from riskgov.markets.selectors.exposure import open_position_arrays
from riskgov.markets.selectors.markets import MarketState, market_states

MIN_BOOTSTRAP_RETURNS = 24
ParameterOverrides = Mapping[str, Mapping[str, Decimal | str | int | float]]


@dataclass(frozen=True)
class CollectedInputs:
    frozen: FrozenInputs
    overrides: dict[str, dict[str, Decimal]]
    market_inputs: list[dict[str, Any]]
    estimate: VolatilityEstimate


def _decimal(value: Any, where: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({"parameter_overrides": f"{where} must be a decimal number, got {value!r}."}) from None
    if not number.is_finite():
        raise ValidationError({"parameter_overrides": f"{where} must be finite, got {value!r}."})
    return number


def overrides_clean(overrides: ParameterOverrides | None, symbols: list[str]) -> dict[str, dict[str, Decimal]]:
    """{symbol: {field: Decimal}} with known markets and parameter fields; raises ValidationError otherwise."""
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise ValidationError({"parameter_overrides": "Give an object {symbol: {field: value}}."})
    cleaned: dict[str, dict[str, Decimal]] = {}
    for symbol, changes in overrides.items():
        if symbol not in symbols:
            raise ValidationError(
                {
                    "parameter_overrides": f"{symbol!r} is not a market with a mark price and "
                    f"parameters (markets: {', '.join(symbols) or 'none'})."
                }
            )
        if not isinstance(changes, Mapping) or not changes:
            raise ValidationError({"parameter_overrides": f"{symbol}: give an object {{field: value}}."})
        unknown = sorted(set(changes) - set(PARAMETER_FIELDS))
        if unknown:
            raise ValidationError(
                {
                    "parameter_overrides": f"{symbol}: {', '.join(unknown)} is not a margin "
                    f"parameter ({', '.join(PARAMETER_FIELDS)})."
                }
            )
        cleaned[symbol] = {field: _decimal(value, f"{symbol}.{field}") for field, value in changes.items()}
    return cleaned


def _version_rates(state: MarketState, version: Any) -> tuple[Decimal, Decimal, str]:
    """(mmr, liquidation_penalty, description) of parameter version `version` of the state's market."""
    symbol = state.market.symbol
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationError({"parameter_versions": f"{symbol}: the version must be a whole number."})
    row = MarginParameters.objects.filter(market=state.market, version=version).first()
    if row is None:
        raise ValidationError({"parameter_versions": f"{symbol} has no parameter version {version}."})
    return row.mmr, row.liquidation_penalty, f"v{row.version}"


def _parameters_for(
    states: list[MarketState],
    parameter_set: str,
    versions: Mapping[str, Any] | None,
    overrides: dict[str, dict[str, Decimal]],
) -> dict[str, tuple[Decimal, Decimal, str]]:
    """Per symbol: (mmr, liquidation_penalty, description of the parameters used)."""
    chosen: dict[str, tuple[Decimal, Decimal, str]] = {}
    symbols = [state.market.symbol for state in states]
    if parameter_set == ParameterSet.VERSIONS:
        if not versions:
            raise ValidationError({"parameter_versions": "Give at least one {symbol: version}."})
        unknown = sorted(set(versions) - set(symbols))
        if unknown:
            raise ValidationError(
                {"parameter_versions": f"{', '.join(unknown)} is not a market with a mark price and parameters."}
            )
    for state in states:
        symbol = state.market.symbol
        params = state.parameters
        if params is None:
            raise ValidationError({"markets": f"{symbol} has no margin parameters in force."})
        mmr, penalty, source = params.mmr, params.liquidation_penalty, f"v{params.version} (current)"
        if parameter_set == ParameterSet.VERSIONS and versions and symbol in versions:
            mmr, penalty, source = _version_rates(state, versions[symbol])
        if parameter_set == ParameterSet.OVERRIDES and symbol in overrides:
            changes = overrides[symbol]
            mmr = changes.get("mmr", mmr)
            penalty = changes.get("liquidation_penalty", penalty)
            shown = ", ".join(f"{field}={value}" for field, value in changes.items())
            source = f"v{params.version} with {shown}"
        if not Decimal(0) < penalty < mmr < Decimal(1):
            field = "parameter_overrides" if parameter_set == ParameterSet.OVERRIDES else "parameter_versions"
            raise ValidationError({field: f"{symbol}: need 0 < liquidation_penalty ({penalty}) < mmr ({mmr}) < 1."})
        chosen[symbol] = (mmr, penalty, source)
    return chosen


def coverage_inputs_collect(
    *,
    parameter_set: str,
    parameter_versions: Mapping[str, Any] | None,
    parameter_overrides: ParameterOverrides | None,
    volatility_window_days: int,
    model: str,
    steps: int,
    horizon_days: Decimal,
    at: datetime,
) -> CollectedInputs:
    """Markets (mark price, chosen mmr/penalty, estimated volatility, depth) and every open position.

    Raises ValidationError naming the input that cannot be honoured (e.g. an unknown market or version).
    """
    states = [s for s in market_states(at) if s.mark_price is not None and s.parameters is not None]
    if not states:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: "No active market has both a mark price and margin parameters; "
                "import prices and parameters first."
            }
        )
    for state in states:
        if state.market.depth <= 0:
            raise ValidationError(
                {
                    NON_FIELD_ERRORS: f"Market {state.market.symbol} has no depth (0); set its depth "
                    f"before simulating liquidation impact."
                }
            )
    overrides = overrides_clean(parameter_overrides, [state.market.symbol for state in states])
    parameters = _parameters_for(states, parameter_set, parameter_versions, overrides)
    estimate = volatility_estimate(markets=[s.market for s in states], window_days=volatility_window_days, until=at)
    bootstrap_returns = np.zeros((0, len(states)))
    if model == PriceModelKind.BOOTSTRAP:
        bootstrap_returns = _bootstrap_returns(estimate, steps, horizon_days)

    arrays, market_ids = open_position_arrays(states)
    index_of = {state.market.pk: index for index, state in enumerate(states)}
    position_market = np.array([index_of[int(pk)] for pk in market_ids], dtype=np.int64)
    portfolio = Portfolio(
        market=position_market, size=arrays.size, entry_price=arrays.entry_price, collateral=arrays.collateral
    )

    specs, summary = [], []
    for index, state in enumerate(states):
        mmr, penalty, source = parameters[state.market.symbol]
        spec = MarketSpec(
            symbol=state.market.symbol,
            price=float(state.mark_price),  # type: ignore[arg-type]
            mmr=float(mmr),
            liquidation_penalty=float(penalty),
            volatility=estimate.volatility[index],
            depth=float(state.market.depth),
            loss_waterfall=state.market.loss_waterfall,  # type: ignore[arg-type]
        )
        specs.append(spec)
        in_market = position_market == index
        summary.append(
            {
                "symbol": spec.symbol,
                "price": str(state.mark_price),
                "mmr": str(mmr),
                "liquidation_penalty": str(penalty),
                "parameters": source,
                "volatility": spec.volatility,
                "volatility_source": estimate.volatility_source[index],
                "volatility_observations": estimate.observations[index],
                "depth": str(state.market.depth),
                "loss_waterfall": spec.loss_waterfall,
                "positions": int(in_market.sum()),
                "notional": float(np.abs(arrays.size[in_market]).sum() * spec.price),
            }
        )
    correlation = estimate.correlation
    if model == PriceModelKind.BOOTSTRAP:
        correlation = np.zeros((0, 0))
    frozen = FrozenInputs(
        portfolio=portfolio, markets=tuple(specs), correlation=correlation, bootstrap_returns=bootstrap_returns
    )
    return CollectedInputs(frozen=frozen, overrides=overrides, market_inputs=summary, estimate=estimate)


def _bootstrap_returns(estimate: VolatilityEstimate, steps: int, horizon_days: Decimal) -> np.ndarray:
    step_hours = float(horizon_days) * 24.0 / steps
    lag = round(step_hours)
    if lag < 1 or not math.isclose(step_hours, lag, rel_tol=1e-9):
        raise ValidationError(
            {
                "steps": f"The bootstrap resamples stored hourly returns, so a step must last a whole "
                f"number of hours; {steps} steps over {horizon_days} days are "
                f"{step_hours:.3g} h each."
            }
        )
    returns = estimate.returns_at_lag(lag)
    if len(returns) < MIN_BOOTSTRAP_RETURNS:
        raise ValidationError(
            {
                "model": f"The bootstrap needs at least {MIN_BOOTSTRAP_RETURNS} {lag}-hour returns "
                f"where every market has prices in the last {estimate.window_days} days; "
                f"there are {len(returns)}. Use a longer window or another model."
            }
        )
    return returns
