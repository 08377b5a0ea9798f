"""Governance labels for templates: parameter field names and vote choices (numbers: riskgov_format)."""

from __future__ import annotations

from django import template

from riskgov.governance.forms import FIELD_LABELS
from riskgov.governance.selectors.pages import explorer_tx_url

register = template.Library()


@register.filter
def field_label(field: str) -> str:
    return FIELD_LABELS.get(field, field)


@register.filter
def tx_url(tx_hash: str | None) -> str:
    """The block explorer link of a transaction hash (RISKGOV_BLOCK_EXPLORER_TX_URL), "" when none is set."""
    return explorer_tx_url(tx_hash)


@register.filter
def support_label(value: int) -> str:
    return {0: "Against", 1: "For", 2: "Abstain"}.get(int(value), str(value))
