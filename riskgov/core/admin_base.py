"""Admin building blocks shared by the apps: who may add, change or delete rows by hand.

Mix one of the combinations into a ModelAdmin or an inline instead of writing `has_*_permission` overrides.
A permission a mixin leaves alone keeps Django's own check (the user's model permissions).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest


class NoAddPermission:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoChangePermission:
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoDeletePermission:
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyPermissions(NoAddPermission, NoChangePermission, NoDeletePermission):
    """For rows written only by services, tasks or the indexer: shown, never added, changed or deleted by hand."""


class DeletableReadOnlyPermissions(NoAddPermission, NoChangePermission):
    """Rows the app writes (reports, alerts, deliveries, runs): shown and deletable, never added or edited by hand."""


class AppendOnlyPermissions(NoChangePermission, NoDeletePermission):
    """Immutable versions and ledger entries: added by hand through a service, never changed or deleted."""


class SingletonPermissions(NoDeletePermission):
    """A ModelAdmin for a settings row: added only while the table is empty, changed as usual, never deleted."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        model = self.model  # type: ignore[attr-defined]
        return not model._default_manager.exists() and super().has_add_permission(request)  # type: ignore[misc]


class ReadOnlyAdmin(ReadOnlyPermissions, admin.ModelAdmin):
    # Links are shown as https when they carry no scheme (Django 6's default for URL fields).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
