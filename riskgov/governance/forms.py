"""Forms of the governance pages: a proposal (title, Markdown description) and its parameter-change rows."""

from __future__ import annotations

from django import forms
from django.core.validators import URLValidator

from riskgov.markets.models import PARAMETER_FIELDS, Market

FIELD_LABELS = {
    "imr": "Initial margin rate (fraction)",
    "mmr": "Maintenance margin rate (fraction)",
    "max_leverage": "Max leverage (multiple)",
    "liquidation_penalty": "Liquidation penalty (fraction)",
    "insurance_fee_share": "Insurance fee share (fraction)",
    "oi_cap": "OI cap per side (quote notional)",
    "size_margin_base": "Size margin base (quote notional)",
    "size_margin_slope": "Size margin slope (IMR per 1M)",
}


class HttpUrlField(forms.URLField):
    """A URL whose scheme is http or https (a bare host gets https://)."""

    default_validators = [URLValidator(schemes=["http", "https"])]
    default_error_messages = {"invalid": "Enter a full http:// or https:// link."}


class ProposalForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), help_text="Markdown; HTML is stripped.")
    discussion_url = HttpUrlField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label="Discussion link",
        help_text="Forum thread where the proposal is discussed (http or https).",
    )


class ParameterChangeForm(forms.Form):
    market = forms.ChoiceField(required=False)
    field = forms.ChoiceField(required=False, choices=[("", "—")] + [(f, FIELD_LABELS[f]) for f in PARAMETER_FIELDS])
    new_value = forms.DecimalField(required=False, max_digits=38, decimal_places=18)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        symbols = Market.objects.filter(is_active=True).order_by("symbol").values_list("symbol", flat=True)
        self.fields["market"].choices = [("", "—")] + [(s, s) for s in symbols]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        filled = [bool(data.get("market")), bool(data.get("field")), data.get("new_value") is not None]
        if any(filled) and not all(filled):
            raise forms.ValidationError("Give the market, the field and the new value, or leave the row empty.")
        return data


ParameterChangeFormSet = forms.formset_factory(ParameterChangeForm, extra=3, max_num=12)


class VoterQueryForm(forms.Form):
    """Search, sort and page of the voters table (bad values fall back to the defaults)."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    sort = forms.ChoiceField(required=False, choices=[])
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args: object, sorts: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["sort"].choices = list(sorts.items())  # type: ignore[attr-defined]

    def query(self) -> tuple[str, str, int]:
        """(search, sort, page) — each cleaned value, or its default when it did not validate (errors shown)."""
        self.is_valid()
        data = self.cleaned_data
        return str(data.get("q") or ""), str(data.get("sort") or "-weight"), int(data.get("page") or 1)
