"""Settings checks run at start (``manage.py check``, runserver, the worker): a malformed executor key
or chain setting is reported clearly instead of failing on first use. No network access here."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

from chain.conf import ExecutorKeyError, parse_executor_key


def chain_settings_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if settings.CHAIN_ID <= 0:
        errors.append(Error(f"CHAIN_ID must be a positive integer, got {settings.CHAIN_ID}.", id="chain.E001"))
    if settings.CHAIN_INDEXER_BLOCK_RANGE < 1:
        errors.append(Error("CHAIN_INDEXER_BLOCK_RANGE must be at least 1.", id="chain.E002"))
    if settings.CHAIN_CONFIRMATIONS < 0:
        errors.append(Error("CHAIN_CONFIRMATIONS cannot be negative.", id="chain.E003"))
    if settings.CHAIN_EXECUTOR_KEY:
        try:
            parse_executor_key(settings.CHAIN_EXECUTOR_KEY)
        except ExecutorKeyError as error:
            errors.append(Error(str(error), id="chain.E004"))
    return errors
