"""The admin's look: RiskGov's own titles, and stored decimals shown with the digits they have.

A NUMERIC(38, 18) column would otherwise show as 0.050000000000000000 in the admin's lists, read-only fields and
forms. Django's admin formats every field through ``display_for_field`` / ``display_for_value`` (imported by
its change list and its read-only fields) and builds form fields from each ModelAdmin's ``formfield_overrides``;
``admin_look_install`` routes decimals through ``riskgov.core.formatting`` in those places, once, at start-up.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers, utils
from django.contrib.admin.templatetags import admin_list
from django.db import models

from riskgov.core import formatting

SITE_HEADER = "RiskGov administration"
SITE_TITLE = "RiskGov admin"
INDEX_TITLE = "Markets, parameters, governance, insurance and reports"

_display_for_field = utils.display_for_field
_display_for_value = utils.display_for_value


def display_for_field(value: Any, field: models.Field, empty_value_display: str, avoid_link: bool = False) -> Any:
    if isinstance(field, models.DecimalField) and isinstance(value, Decimal):
        return formatting.grouped(value)
    return _display_for_field(value, field, empty_value_display, avoid_link)


def display_for_value(value: Any, empty_value_display: str, boolean: bool = False) -> Any:
    if not boolean and isinstance(value, Decimal):
        return formatting.grouped(value)
    return _display_for_value(value, empty_value_display, boolean)


class PlainDecimalInput(forms.NumberInput):
    """A number input showing a stored decimal with the digits it has (0.05, not 0.050000000000000000)."""

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, Decimal):
            return formatting.plain(value)
        return super().format_value(value)


DECIMAL_OVERRIDE = {"widget": PlainDecimalInput}


def admin_look_install(site: admin.AdminSite | None = None) -> None:
    """Titles of `site` (the default admin) and decimal display for its registered models and their inlines."""
    site = site or admin.site
    site.site_header, site.site_title, site.index_title = SITE_HEADER, SITE_TITLE, INDEX_TITLE
    utils.display_for_field = display_for_field
    utils.display_for_value = display_for_value
    admin_list.display_for_field = display_for_field  # type: ignore[attr-defined]
    admin_list.display_for_value = display_for_value  # type: ignore[attr-defined]
    helpers.display_for_field = display_for_field  # type: ignore[attr-defined]
    for model_admin in site._registry.values():
        _decimal_inputs(model_admin)
        for inline in getattr(model_admin, "inlines", ()):
            _decimal_inputs(inline)


def _decimal_inputs(admin_or_inline: Any) -> None:
    # a copy, so a class attribute shared with other admins is not changed under them
    overrides = dict(getattr(admin_or_inline, "formfield_overrides", {}) or {})
    overrides.setdefault(models.DecimalField, DECIMAL_OVERRIDE)
    admin_or_inline.formfield_overrides = overrides
