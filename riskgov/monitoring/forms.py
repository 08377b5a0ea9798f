"""Forms of the monitoring pages: the what-if coefficients of a margin-policy backtest, the alert actions
(acknowledge, snooze until a time, resolve; each needs a reason), and the Liquidations page's filters and
coverage backtest."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.db import models
from django.utils import timezone

from riskgov.markets.models import Market
from riskgov.monitoring.models import Alert, MarginPolicy, PolicyKind
from riskgov.monitoring.models.monitoring import REASON_MAX_LENGTH
from riskgov.monitoring.selectors.liquidations import LiquidationFilters
from riskgov.monitoring.services.alert_actions import SNOOZE_LONGEST
from riskgov.monitoring.services.coverage_backtest import DEFAULT_MAX_RUN_AGE_HOURS
from riskgov.monitoring.services.margin_policy import POLICY_BOUNDS

BACKTEST_DAYS = (30, 90, 180, 365, 730)
DEFAULT_BACKTEST_DAYS = 180
COEFFICIENT_LABELS = {
    "coefficient_a": "a",
    "coefficient_b": "b",
    "ewma_lambda": "EWMA decay",
    "confidence": "Confidence",
    "horizon_hours": "Horizon (h)",
    "imr_floor": "IMR floor",
    "imr_cap": "IMR cap",
    "mmr_ratio": "MMR ratio",
}
EDITABLE_COEFFICIENTS = tuple(COEFFICIENT_LABELS)


def _coefficient_field(name: str) -> forms.Field:
    """The policy column's own form field (digits, decimal places) bounded by the hard policy rules."""
    bound = POLICY_BOUNDS[name]
    column = cast(models.Field, MarginPolicy._meta.get_field(name))
    field = column.formfield(
        required=False, label=COEFFICIENT_LABELS[name], min_value=bound.min_value, max_value=bound.max_value
    )
    return cast(forms.Field, field)


def _plain(value: Any) -> str:
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


class BacktestForm(forms.Form):
    """The backtest period and coefficients to try instead of the policy in force (query string, GET).

    Coefficients left empty keep the policy's value; each entered one must be a value a policy could take
    (the hard rules of `margin_policy_change`), so a what-if can become a proposal. Rates are fractions.
    """

    days = forms.TypedChoiceField(
        choices=[(d, f"{d} days") for d in BACKTEST_DAYS],
        coerce=int,
        required=False,
        empty_value=None,
        label="Period",
    )
    kind = forms.ChoiceField(choices=PolicyKind.choices, required=False, label="Policy kind")

    def __init__(self, data: Any, *, policy: MarginPolicy | None) -> None:
        super().__init__(data)
        self.policy = policy
        for name in EDITABLE_COEFFICIENTS:
            self.fields[name] = _coefficient_field(name)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.policy is not None and not self.errors:
            values = self.policy.values() | _entered(cleaned)
            if values["imr_floor"] > values["imr_cap"]:
                field = "imr_floor" if cleaned.get("imr_floor") is not None else "imr_cap"
                self.add_error(
                    field,
                    f"The IMR floor ({_plain(values['imr_floor'])}) must not exceed the IMR cap "
                    f"({_plain(values['imr_cap'])}).",
                )
        return cleaned

    @property
    def period_days(self) -> int:
        """The period to replay: the one asked for when the form is valid, else the default."""
        days = self.cleaned_data["days"] if self.is_valid() else None
        return int(days) if days is not None else DEFAULT_BACKTEST_DAYS

    def changes(self) -> dict[str, Any]:
        """The coefficients (and kind) entered, as the policy stores them; empty when none or invalid."""
        return _entered(self.cleaned_data) if self.is_valid() else {}

    def error_messages(self) -> list[str]:
        """One sentence per error, naming the field: "EWMA decay (ewma_lambda): Ensure this value is …"."""
        messages = []
        for name, errors in self.errors.items():
            field = self.fields.get(name)
            where = f"{field.label} ({name}): " if field is not None else ""
            messages += [f"{where}{message}" for message in errors]
        return messages

    def coefficient_rows(self) -> list[tuple[str, str, str, str]]:
        """(name, label, value in force, value entered) per coefficient, for the page's inputs."""
        in_force = self.policy.values() if self.policy is not None else {}
        return [
            (name, label, _plain(in_force.get(name, "")), str(self.data.get(name, "")))
            for name, label in COEFFICIENT_LABELS.items()
        ]


def _entered(cleaned: dict[str, Any]) -> dict[str, Any]:
    return {name: cleaned[name] for name in ("kind", *EDITABLE_COEFFICIENTS) if cleaned.get(name) not in (None, "")}


SNOOZE_DEFAULT = timedelta(hours=1)
ALERT_ACTIONS = ("acknowledge", "snooze", "resolve")


class AlertReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "Why (kept in the audit log)"}),
        error_messages={"required": "Say why, for the audit log."},
    )


class AlertSnoozeForm(AlertReasonForm):
    until = forms.DateTimeField(
        label="Until (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"required": "Pick when the snooze ends.", "invalid": "Enter a date and time."},
    )

    field_order = ["until", "reason"]

    def clean_until(self) -> datetime:
        until: datetime = self.cleaned_data["until"]
        now = timezone.now()
        if until <= now:
            raise forms.ValidationError("The snooze must end in the future.")
        if until > now + SNOOZE_LONGEST:
            raise forms.ValidationError(f"A snooze lasts at most {SNOOZE_LONGEST.days} days.")
        return until


FORM_OF_ACTION: dict[str, type[AlertReasonForm]] = {
    "acknowledge": AlertReasonForm,
    "snooze": AlertSnoozeForm,
    "resolve": AlertReasonForm,
}


def alert_action_form(action: str, alert_id: int, data: Any = None) -> AlertReasonForm:
    """The form of one action on one alert; the prefix keeps field ids unique on a page of many alerts."""
    form_class = FORM_OF_ACTION[action]
    initial = {"until": (timezone.now() + SNOOZE_DEFAULT).replace(second=0, microsecond=0)}
    return form_class(data, prefix=f"{action}-{alert_id}", initial=initial if action == "snooze" else None)


def alert_action_forms(alerts: list[Alert], bound: AlertReasonForm | None = None, bound_key: Any = None) -> None:
    """Give each open alert its three forms (`alert.action_forms`), the bound one where input was refused."""
    for alert in alerts:
        alert.action_forms = {  # type: ignore[attr-defined]
            action: bound
            if bound is not None and bound_key == (action, alert.pk)
            else alert_action_form(action, alert.pk)
            for action in ALERT_ACTIONS
        }


class LiquidationFilterForm(forms.Form):
    """Filters of the Liquidations page: a market and an inclusive range of UTC days."""

    market = forms.ModelChoiceField(
        queryset=Market.objects.order_by("symbol"), to_field_name="symbol", required=False, empty_label="All markets"
    )
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", f"The end ({until}) is before the start ({since}).")
        return cleaned

    def filters(self) -> LiquidationFilters:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return LiquidationFilters(market=data.get("market"), since=data.get("since"), until=data.get("until"))


class CoverageBacktestForm(forms.Form):
    """The days (UTC, inclusive) to backtest the coverage model over, and how old a current run may be."""

    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    max_run_age_hours = forms.IntegerField(
        label="Oldest run (h)",
        min_value=1,
        max_value=24 * 30,
        initial=DEFAULT_MAX_RUN_AGE_HOURS,
        help_text="A day counts only when a baseline run at most this old was current at its start.",
    )
