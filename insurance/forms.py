"""The New run form: every input of `coverage_run_create`, with the model's parameters as plain fields."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from django import forms

from insurance.models import (
    MAX_PATHS,
    MAX_SCALE,
    MAX_STEPS,
    ImpactKind,
    InsuranceFund,
    PriceModelKind,
    RunPurpose,
    Scenario,
)
from insurance.services.coverage_model import MODEL_PARAMETERS

# form field → model parameter it fills (only for the models that take it)
MODEL_FIELDS = (
    "drift",
    "degrees_of_freedom",
    "jump_intensity",
    "jump_mean",
    "jump_std",
    "block_length",
    "scenario",
    "noise",
)


def scenario_choices() -> list[tuple[str, str]]:
    """The scenario library as (slug, name) choices, read when a form is built."""
    return list(Scenario.objects.order_by("kind", "name").values_list("slug", "name"))


class JSONObjectField(forms.Field):
    """A JSON object typed into a text area; empty means none."""

    widget = forms.Textarea(attrs={"rows": 2})

    def to_python(self, value: Any) -> dict[str, Any] | None:
        text = (value or "").strip() if isinstance(value, str) else value
        if not text:
            return None
        try:
            parsed = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"Not valid JSON: {error.msg} (line {error.lineno}).") from None
        if not isinstance(parsed, dict):
            raise forms.ValidationError('Give a JSON object, e.g. {"ETH": {"mmr": "0.03"}}.')
        return parsed


class CoverageRunForm(forms.Form):
    label = forms.CharField(max_length=200, initial="Coverage run")
    fund = forms.ModelChoiceField(
        queryset=InsuranceFund.objects.order_by("pk"),
        required=False,
        empty_label="Default fund",
        help_text="Its ledger balance is the starting fund.",
    )
    fund_balance = forms.DecimalField(
        required=False,
        min_value=Decimal("0"),
        max_digits=38,
        decimal_places=18,
        help_text="Override the ledger balance (quote units).",
    )
    model = forms.ChoiceField(choices=PriceModelKind.choices, initial=PriceModelKind.GBM)
    scenario = forms.ChoiceField(
        choices=scenario_choices,
        initial="march_2020",
        required=False,
        help_text="Stress scenario.",
    )
    noise = forms.BooleanField(required=False, help_text="Stress: add GBM noise on top of the scenario.")
    drift = forms.FloatField(required=False, initial=0.0, help_text="Annualised drift (fraction).")
    degrees_of_freedom = forms.FloatField(required=False, initial=4.0, help_text="Student-t: ν > 2.")
    jump_intensity = forms.FloatField(required=False, initial=5.0, min_value=0, help_text="Merton: jumps per year.")
    jump_mean = forms.FloatField(required=False, initial=-0.05, help_text="Merton: mean log jump.")
    jump_std = forms.FloatField(required=False, initial=0.05, min_value=0, help_text="Merton: std of log jump.")
    block_length = forms.IntegerField(
        required=False, initial=6, min_value=1, max_value=1000, help_text="Bootstrap: steps per resampled block."
    )
    paths = forms.IntegerField(initial=10_000, min_value=1, max_value=MAX_PATHS)
    steps = forms.IntegerField(initial=96, min_value=1, max_value=MAX_STEPS, help_text="Oracle steps over the horizon.")
    horizon_days = forms.DecimalField(
        initial=Decimal("4"), min_value=Decimal("0.001"), max_value=Decimal("365"), max_digits=8, decimal_places=3
    )
    impact = forms.ChoiceField(choices=ImpactKind.choices, initial=ImpactKind.SQRT)
    impact_coefficient = forms.DecimalField(
        initial=Decimal("0.01"),
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=6,
        help_text="0.01 = 1 % impact when the liquidated notional equals depth.",
    )
    cascade = forms.BooleanField(required=False, initial=True, help_text="Impact moves the price (cascades).")
    liquidation_delay_steps = forms.IntegerField(initial=0, min_value=0)
    seed = forms.IntegerField(required=False, min_value=0, max_value=2**63 - 1, help_text="Empty: a fresh seed.")
    volatility_window_days = forms.IntegerField(
        initial=30, min_value=1, max_value=3650, help_text="Days of hourly prices behind volatility and correlation."
    )
    target_exhaustion_probability = forms.DecimalField(
        initial=Decimal("0.01"),
        min_value=Decimal("0.00000001"),
        max_value=Decimal("0.99999999"),
        max_digits=12,
        decimal_places=8,
        help_text="For the required fund (0.01 = 1 %).",
    )
    as_baseline = forms.BooleanField(
        required=False,
        label="Start as the new baseline",
        help_text="Risk admins only. A baseline runs the fund, parameters and model as they are (no overrides).",
    )
    parameter_versions = JSONObjectField(required=False, help_text='Simulate given versions, e.g. {"ETH": 3}.')
    parameter_overrides = JSONObjectField(
        required=False, help_text='Simulate proposed changes, e.g. {"ETH": {"mmr": "0.03"}}.'
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("parameter_versions") and data.get("parameter_overrides"):
            self.add_error("parameter_overrides", "Give either parameter versions or overrides, not both.")
        return data

    def service_arguments(self) -> dict[str, Any]:
        """Keyword arguments for `coverage_run_create` from the cleaned data."""
        data = dict(self.cleaned_data)
        model = data.pop("model")
        data["purpose"] = RunPurpose.BASELINE if data.pop("as_baseline", False) else None
        taken = MODEL_PARAMETERS[model]
        params = {name: data[name] for name in MODEL_FIELDS if name in taken and data.get(name) not in (None, "")}
        for name in MODEL_FIELDS:
            data.pop(name, None)
        return {**data, "model": model, "model_params": params}


DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ReplayScenarioForm(forms.Form):
    """A replay of a window of stored prices; `scenario_replay_save` checks the window holds prices."""

    name = forms.CharField(max_length=200)
    replay_start = forms.DateTimeField(label="Window start (UTC)", widget=DATETIME_INPUT)
    replay_end = forms.DateTimeField(label="Window end (UTC)", widget=DATETIME_INPUT)
    scale = forms.DecimalField(
        initial=Decimal("1"),
        min_value=Decimal("0.0001"),
        max_value=MAX_SCALE,
        max_digits=8,
        decimal_places=4,
        help_text="Every log return is multiplied by this: 1 replays the window as it was, 2 doubles each move.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    source = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Why this window; links, one a line."
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("replay_start"), data.get("replay_end")
        if start is not None and end is not None and end <= start:
            self.add_error("replay_end", "The end of the window must come after its start.")
        return data


class ScenarioRunForm(forms.Form):
    """Run one library scenario as a stress run (deterministic, or on top of GBM noise)."""

    label = forms.CharField(max_length=200)
    paths = forms.IntegerField(
        initial=100, min_value=1, max_value=MAX_PATHS, help_text="Without noise every path is the same one."
    )
    horizon_days = forms.DecimalField(
        min_value=Decimal("0.001"), max_value=Decimal("365"), max_digits=8, decimal_places=3
    )
    steps = forms.IntegerField(min_value=1, max_value=MAX_STEPS, help_text="Oracle steps over the horizon.")
    noise = forms.BooleanField(required=False, help_text="Add correlated GBM noise on top of the scenario.")
    drift = forms.FloatField(initial=0.0, help_text="Annualised drift of the noise (fraction).")
    impact = forms.ChoiceField(choices=ImpactKind.choices, initial=ImpactKind.SQRT)
    impact_coefficient = forms.DecimalField(
        initial=Decimal("0.01"), min_value=Decimal("0"), max_digits=12, decimal_places=6
    )
    cascade = forms.BooleanField(required=False, initial=True, help_text="Impact moves the price (cascades).")
    liquidation_delay_steps = forms.IntegerField(initial=0, min_value=0)
    seed = forms.IntegerField(required=False, min_value=0, max_value=2**63 - 1, help_text="Empty: a fresh seed.")

    @classmethod
    def for_scenario(cls, scenario: Scenario, data: Any = None) -> ScenarioRunForm:
        """The form with a label and an hourly horizon that covers the scenario's path (whole days)."""
        days = max(1, math.ceil(scenario.duration_hours / 24 - 1e-9))
        initial = {"label": f"Stress: {scenario.name}", "horizon_days": Decimal(days), "steps": 24 * days}
        return cls(data, initial=initial)

    def service_arguments(self, scenario: Scenario) -> dict[str, Any]:
        """Keyword arguments for `coverage_run_create`: a stress run of `scenario`."""
        data = dict(self.cleaned_data)
        params = {"scenario": scenario.slug, "noise": data.pop("noise"), "drift": data.pop("drift")}
        return {**data, "model": PriceModelKind.STRESS, "model_params": params}
