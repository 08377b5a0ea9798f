"""Forms of the alerts page: acknowledge, snooze until a time, resolve; each needs a reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from riskgov.monitoring.models import Alert
from riskgov.monitoring.models.monitoring import REASON_MAX_LENGTH
from riskgov.monitoring.services.alert_actions import SNOOZE_LONGEST

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
