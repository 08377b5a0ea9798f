"""Immutable, versioned per-market records: a change never edits a row, it adds the next version."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class ChangeSource(models.TextChoices):
    GENESIS = "genesis", "Genesis"
    ADMIN = "admin", "Admin (steward)"
    PROPOSAL = "proposal", "Governance proposal"
    POLICY = "policy", "Margin policy"


class MarketVersion(models.Model):
    """Version number, when it takes effect, and who changed it why. Subclasses add `market` and their
    values, and list the value fields in VERSIONED_FIELDS."""

    VERSIONED_FIELDS: ClassVar[tuple[str, ...]] = ()

    version = models.PositiveIntegerField()
    effective_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=16, choices=ChangeSource.choices)
    reason = models.TextField()
    actor = models.CharField(max_length=150)
    proposal_ref = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValidationError(f"{self._plural()} are immutable; add a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError(f"{self._plural()} are immutable and cannot be deleted.")

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.VERSIONED_FIELDS}

    def _plural(self) -> str:
        return str(self._meta.verbose_name_plural).capitalize()
