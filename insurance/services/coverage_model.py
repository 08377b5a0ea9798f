"""Price-model parameters of a run: validation with defaults, and the engine model they describe."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from numpy.typing import NDArray

from insurance.engine import GBM, NAMED_SCENARIOS, Bootstrap, MertonJump, PriceModel, StressScenario, StudentT
from insurance.engine.stress import ScenarioPath
from insurance.models import PriceModelKind, Scenario

MIN_DEGREES_OF_FREEDOM = 2  # Student-t innovations need more than 2 for a finite variance
MAX_BLOCK_LENGTH = 1000  # bootstrap blocks, in steps

# per model: parameter → (default, kind); drift and jump sizes are annualised / log fractions
MODEL_PARAMETERS: dict[str, dict[str, tuple[Any, type]]] = {
    PriceModelKind.GBM: {"drift": (0.0, float)},
    PriceModelKind.STUDENT_T: {"drift": (0.0, float), "degrees_of_freedom": (4.0, float)},
    PriceModelKind.MERTON: {
        "drift": (0.0, float),
        "jump_intensity": (5.0, float),
        "jump_mean": (-0.05, float),
        "jump_std": (0.05, float),
        "shared_arrivals": (True, bool),
    },
    PriceModelKind.BOOTSTRAP: {"block_length": (6, int)},
    PriceModelKind.STRESS: {"scenario": ("march_2020", str), "noise": (False, bool), "drift": (0.0, float)},
}


def model_params_clean(model: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """`params` with defaults filled in and types checked; raises ValidationError on `model_params`."""
    if model not in MODEL_PARAMETERS:
        raise ValidationError({"model": f"Unknown model {model!r}; choose one of {', '.join(MODEL_PARAMETERS)}."})
    schema = MODEL_PARAMETERS[model]
    params = dict(params or {})
    unknown = sorted(set(params) - set(schema))
    if unknown:
        raise ValidationError(
            {
                "model_params": f"{', '.join(unknown)} is not a parameter of the {model} model "
                f"(it takes {', '.join(schema)})."
            }
        )
    cleaned: dict[str, Any] = {}
    for name, (default, kind) in schema.items():
        value = params.get(name, default)
        if value is None:
            value = default
        cleaned[name] = _coerce(name, value, kind)
    if model == PriceModelKind.STRESS and not Scenario.objects.filter(slug=cleaned["scenario"]).exists():
        known = Scenario.objects.order_by("slug").values_list("slug", flat=True)
        raise ValidationError(
            {"model_params": f"scenario must be one of {', '.join(known)}, got {cleaned['scenario']!r}."}
        )
    if model == PriceModelKind.STUDENT_T and cleaned["degrees_of_freedom"] <= MIN_DEGREES_OF_FREEDOM:
        raise ValidationError({"model_params": "degrees_of_freedom must be greater than 2 (finite variance)."})
    if model == PriceModelKind.MERTON and (cleaned["jump_intensity"] < 0 or cleaned["jump_std"] < 0):
        raise ValidationError({"model_params": "jump_intensity and jump_std must not be negative."})
    if model == PriceModelKind.BOOTSTRAP and not 1 <= cleaned["block_length"] <= MAX_BLOCK_LENGTH:
        raise ValidationError({"model_params": "block_length must be between 1 and 1000 steps."})
    return cleaned


def _coerce(name: str, value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ValidationError({"model_params": f"{name} must be true or false, got {value!r}."})
    if kind is str:
        if isinstance(value, str):
            return value
        raise ValidationError({"model_params": f"{name} must be text, got {value!r}."})
    if isinstance(value, bool):
        raise ValidationError({"model_params": f"{name} must be a number, got {value!r}."})
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError({"model_params": f"{name} must be a number, got {value!r}."}) from None
    if not math.isfinite(number):
        raise ValidationError({"model_params": f"{name} must be finite, got {value!r}."})
    if kind is int:
        if number != int(number):
            raise ValidationError({"model_params": f"{name} must be a whole number, got {value!r}."})
        return int(number)
    return number


def engine_model(
    model: str, params: Mapping[str, Any], *, correlation: NDArray[np.float64], bootstrap_returns: NDArray[np.float64]
) -> PriceModel:
    """The engine price model of a run; correlation and bootstrap returns come from the frozen inputs."""
    matrix = correlation if correlation.size else None
    if model == PriceModelKind.GBM:
        return GBM(correlation=matrix, drift=params["drift"])
    if model == PriceModelKind.STUDENT_T:
        return StudentT(correlation=matrix, drift=params["drift"], degrees_of_freedom=params["degrees_of_freedom"])
    if model == PriceModelKind.MERTON:
        return MertonJump(
            correlation=matrix,
            drift=params["drift"],
            jump_intensity=params["jump_intensity"],
            jump_mean=params["jump_mean"],
            jump_std=params["jump_std"],
            shared_arrivals=params["shared_arrivals"],
        )
    if model == PriceModelKind.BOOTSTRAP:
        return Bootstrap(returns=bootstrap_returns, block_length=params["block_length"])
    if model == PriceModelKind.STRESS:
        base = GBM(correlation=matrix, drift=params["drift"]) if params["noise"] else None
        path = params.get("path")
        if path is not None:  # the library scenario's path, frozen when the run was created
            return ScenarioPath(name=params["scenario"], hours=path["hours"], changes=path["changes"], base=base)
        if params["scenario"] in NAMED_SCENARIOS:  # a run created before the library held the scenarios
            return StressScenario.named(params["scenario"], base=base)
        raise ValueError(f"stress run without a frozen scenario path ({params['scenario']!r})")
    raise ValueError(f"unknown model {model!r}")


def model_describe(model: str, params: Mapping[str, Any]) -> str:
    """One line for pages and the command line, e.g. 'Stress scenario march_2020'."""
    label = PriceModelKind(model).label
    if model == PriceModelKind.STRESS:
        return f"{label} {params.get('scenario')}" + (" + GBM noise" if params.get("noise") else "")
    shown = ", ".join(f"{key}={value}" for key, value in params.items())
    return f"{label} ({shown})" if shown else label
