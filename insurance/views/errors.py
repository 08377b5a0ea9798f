"""Service validation errors as field errors of a form or a 400 body."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

# service argument → form field that carries its error
FIELD_ALIASES = {"model_params": "model"}


def error_fields(error: ValidationError) -> dict[str, list[str]]:
    """{field: [messages]}; errors without a field under NON_FIELD_ERRORS."""
    if hasattr(error, "error_dict"):
        return {field: list(messages) for field, messages in error.message_dict.items()}
    return {NON_FIELD_ERRORS: list(error.messages)}


def form_add_service_errors(form: forms.Form, error: ValidationError) -> None:
    for field, messages in error_fields(error).items():
        target = FIELD_ALIASES.get(field, field)
        for message in messages:
            form.add_error(target if target in form.fields else None, message)
