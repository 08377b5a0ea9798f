"""Forms: parse and validate input shapes; the rules of the domain live in services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.forms.models import fields_for_model

from riskgov.markets.models import PARAMETER_FIELDS, MarginParameters
from riskgov.markets.services.guardrails import GuardrailError
from riskgov.markets.services.imports import ImportKind, ImportRejected, import_format_detect
from riskgov.markets.services.liquidation_imports import LIQUIDATIONS_KIND

MAX_UPLOAD_BYTES = 100 * 1024 * 1024


class ImportForm(forms.Form):
    """An uploaded positions, prices or liquidation-history file; the format comes from its extension (.csv or
    .json)."""

    kind = forms.ChoiceField(
        choices=[
            (ImportKind.POSITIONS.value, "Positions"),
            (ImportKind.PRICES.value, "Prices"),
            (LIQUIDATIONS_KIND, "Liquidation history"),
        ],
        initial=ImportKind.POSITIONS.value,
        widget=forms.RadioSelect,
    )
    file = forms.FileField(help_text="A .csv file with a header line, or a .json list of objects with the same keys.")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        try:
            self.cleaned_data["format"] = import_format_detect(upload.name)
        except ImportRejected as error:
            raise forms.ValidationError(str(error.errors[0].reason)) from error
        return upload


def _plain(value: Decimal | None) -> str | None:
    """0.02000000 → "0.02", 50.0000 → "50": what an admin would type."""
    return None if value is None else format(value.normalize(), "f")


class MarginParametersChangeForm(forms.Form):
    """The next version of one market's margin parameters, prefilled with the version in force."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why this change: it is stored with the version and in the audit record.",
    )

    def __init__(self, *args: Any, current: MarginParameters | None = None, **kwargs: Any) -> None:
        if current is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: _plain(value) for name, value in current.values().items()}
        super().__init__(*args, **kwargs)
        reason = self.fields.pop("reason")
        self.fields.update(fields_for_model(MarginParameters, fields=list(PARAMETER_FIELDS)))
        self.fields["reason"] = reason

    def changes(self) -> dict[str, Decimal | None]:
        return {name: self.cleaned_data.get(name) for name in PARAMETER_FIELDS}

    def add_guardrail_errors(self, error: GuardrailError) -> None:
        """Each violation on its field; market-wide rules (e.g. the steward delay) as non-field errors."""
        for violation in error.violations:
            field = violation.field if violation.field in self.fields else None
            prefix = "" if field or violation.field is None else f"{violation.field}: "
            self.add_error(field, f"{prefix}{violation.message} (rule: {violation.rule})")
