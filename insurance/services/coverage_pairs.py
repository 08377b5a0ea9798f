"""Paired coverage runs: current versus changed parameters on the same simulated paths (common random numbers)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import transaction

from insurance.models import CoverageRun, RunPurpose
from insurance.services.coverage_runs import coverage_run_create


def coverage_pair_create(
    *,
    label: str,
    requested_by: str,
    overrides: Mapping[str, Mapping[str, Decimal]],
    purpose: str,
    seed: int,
    at: datetime,
    paths: int,
    shape: Mapping[str, Any] | None = None,
) -> tuple[CoverageRun, CoverageRun]:
    """Create the current and the proposed run of a paired comparison; returns (current, proposed).

    Both runs freeze the same book at `at` and share seed, paths, steps and horizon, so their difference is
    estimated path by path. `overrides` is {market symbol: {field: value}} (rates as fractions) applied to
    the current parameters on the proposed side only. `purpose` is asked of both runs (see
    `run_purpose_derive`: the proposed side of a non-proposal pair is a what-if, never a baseline). Raises
    ValidationError naming the field; then neither run is written. `shape` gives both runs further
    `coverage_run_create` arguments (e.g. steps, horizon_days), its defaults otherwise.
    """
    shape = dict(shape or {})
    if purpose == RunPurpose.BASELINE:
        raise ValidationError({"purpose": "A paired comparison is never a baseline; ask for a what-if."})
    with transaction.atomic():
        current = coverage_run_create(
            label=f"{label}: current parameters",
            requested_by=requested_by,
            paths=paths,
            seed=seed,
            at=at,
            purpose=purpose,
            **shape,
        )
        proposed = coverage_run_create(
            label=f"{label}: proposed parameters",
            requested_by=requested_by,
            paths=paths,
            seed=seed,
            at=at,
            parameter_overrides={symbol: dict(fields) for symbol, fields in overrides.items()},
            purpose=purpose,
            **shape,
        )
    return current, proposed


def coverage_pair_refusal(error: ValidationError) -> str:
    """A refused pair's reason in one line, each field named ("fund: There is no insurance fund yet; …")."""
    if hasattr(error, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
    return " ".join(error.messages)


class PairOwner(Protocol):
    """A row that holds one paired comparison: a proposal, an impact preview, a margin recommendation."""

    pk: Any
    coverage_current: Any
    coverage_proposed: Any
    coverage_current_id: int | None
    coverage_error: str

    def save(self, *, update_fields: list[str]) -> None: ...


def coverage_pair_attach(
    owner: PairOwner,
    *,
    label: str,
    requested_by: str,
    overrides: Mapping[str, Mapping[str, Decimal | None]],
    purpose: str,
    seed: int,
    at: datetime,
    paths: int,
) -> None:
    """Start `owner`'s paired runs once (a no-op when started or refused already); a refusal is recorded in
    `owner.coverage_error`, never raised. Unset values (None) in `overrides` keep the parameter in force."""
    if owner.coverage_current_id is not None or owner.coverage_error:
        return
    changed = {symbol: {f: v for f, v in fields.items() if v is not None} for symbol, fields in overrides.items()}
    try:
        with transaction.atomic():
            owner.coverage_current, owner.coverage_proposed = coverage_pair_create(
                label=label,
                requested_by=requested_by,
                overrides=changed,
                purpose=purpose,
                seed=seed,
                at=at,
                paths=paths,
            )
            owner.save(update_fields=["coverage_current", "coverage_proposed"])
    except ValidationError as exc:
        owner.coverage_error = f"Coverage preview not started: {coverage_pair_refusal(exc)}"
        owner.save(update_fields=["coverage_error"])
