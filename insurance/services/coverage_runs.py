"""Starting, enqueueing and cancelling coverage runs.

A run is created with every input validated and the positions and market inputs frozen (their sha256
recorded on the row). The frozen inputs reach the disk only when the transaction commits, and then its chunks
are enqueued (one Celery task per chunk, joined by a chord whose callback merges them); a rolled-back run
leaves no file. See `coverage_execution` for what the workers do.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from celery import chord, current_app
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from insurance.engine import ENGINE_VERSION, SimulationConfig, chunk_count
from insurance.models import (
    ACTIVE_STATUSES,
    MAX_PATH_STEPS,
    ChunkStatus,
    CoverageChunk,
    CoverageRun,
    InsuranceFund,
    ParameterSet,
    PriceModelKind,
    RunPurpose,
    RunStatus,
)
from insurance.selectors.funds import fund_balance as ledger_balance
from insurance.selectors.funds import fund_default
from insurance.services.coverage_files import arrays_encode, bytes_write, run_directory, run_storage_identity
from insurance.services.coverage_inputs import coverage_inputs_collect
from insurance.services.coverage_model import engine_model, model_params_clean
from insurance.services.scenarios import stress_params_freeze
from riskgov.core import dispatch
from riskgov.core.errors import DomainError
from riskgov.core.models import AuditAction
from riskgov.core.services.audit import audit_record

logger = logging.getLogger(__name__)

SIMULATE_CHUNK = "insurance.simulate_chunk"
FINISH_RUN = "insurance.finish_run"

DEFAULT_CHUNK_SIZE = 1_000
CONFIG_FIELDS = (
    "paths",
    "steps",
    "horizon_days",
    "impact",
    "impact_coefficient",
    "cascade",
    "liquidation_delay_steps",
    "chunk_size",
)


class CoverageRunError(DomainError):
    """A run cannot do what was asked (e.g. cancel a finished run); the message says why."""

    status = 409
    default_code = "run_conflict"


def run_config(run: CoverageRun) -> SimulationConfig:
    """The engine configuration of a run (money and rates as floats only here)."""
    return SimulationConfig(
        paths=run.paths,
        steps=run.steps,
        horizon_days=float(run.horizon_days),
        impact=run.impact,  # type: ignore[arg-type]
        impact_coefficient=float(run.impact_coefficient),
        cascade=run.cascade,
        liquidation_delay_steps=run.liquidation_delay_steps,
        chunk_size=run.chunk_size,
        record_fund_path=True,
    )


def _config_check(run: CoverageRun) -> None:
    try:
        run_config(run)
    except ValueError as error:
        field = str(error).split(" ", 1)[0]
        raise ValidationError({field if field in CONFIG_FIELDS else NON_FIELD_ERRORS: str(error)}) from None
    if run.paths * (run.steps + 1) > MAX_PATH_STEPS:
        raise ValidationError(
            {
                "paths": f"paths × (steps + 1) must stay below {MAX_PATH_STEPS:,} "
                f"(here {run.paths * (run.steps + 1):,}); use fewer paths or steps."
            }
        )
    if run.liquidation_delay_steps > run.steps:
        raise ValidationError(
            {"liquidation_delay_steps": f"The delay cannot be longer than the horizon ({run.steps} steps)."}
        )


BOOK_ARRAYS = ("position_market", "position_size", "position_entry_price", "position_collateral", "market_symbol")
BOOK_PRICE_ARRAY = "market_price"


def book_sha256(arrays: Mapping[str, Any]) -> str:
    """sha256 of the frozen positions and mark prices only, so two runs under different parameters compare books."""
    digest = hashlib.sha256()
    for name in (*BOOK_ARRAYS, BOOK_PRICE_ARRAY):
        digest.update(name.encode())
        digest.update(arrays[name].tobytes())
    return digest.hexdigest()


def run_overrides(
    *,
    model: str,
    model_params: Mapping[str, Any],
    fund_balance: Decimal | None,
    parameter_versions: Mapping[str, int] | None,
    parameter_overrides: Mapping[str, Any] | None,
) -> list[str]:
    """What a run changes from the protocol as it is (fund ledger, current parameters, the reference model)."""
    changed = []
    if fund_balance is not None:
        changed.append("fund_balance")
    if parameter_versions or parameter_overrides:
        changed.append("parameters")
    if model != PriceModelKind.GBM or dict(model_params) != model_params_clean(PriceModelKind.GBM, None):
        changed.append("model")
    return changed


def run_purpose_derive(*, requested: str | None, model: str, overrides: list[str]) -> RunPurpose:
    """The purpose of a new run from its inputs; a run with any override can never be a baseline.

    A proposal's runs are proposal impact; a named scenario is stress; any override (fund, parameters, model)
    makes a what-if; a run without overrides is a baseline only when one is asked for (the scheduled daily run,
    or a risk admin starting a new baseline). Raises ValidationError when a baseline is asked for and refused.
    """
    if requested == RunPurpose.PROPOSAL_IMPACT:
        return RunPurpose.PROPOSAL_IMPACT
    if requested == RunPurpose.BASELINE and (overrides or model == PriceModelKind.STRESS):
        reasons = ", ".join(overrides) if overrides else "a stress scenario"
        raise ValidationError(
            {"purpose": f"A baseline runs the fund, parameters and model as they are; this run overrides {reasons}."}
        )
    if model == PriceModelKind.STRESS:
        return RunPurpose.STRESS
    if overrides:
        return RunPurpose.WHAT_IF
    return RunPurpose(requested) if requested in RunPurpose.values else RunPurpose.WHAT_IF


def coverage_run_create(  # noqa: PLR0913  (one keyword argument per run input, each validated and stored)
    *,
    label: str,
    requested_by: str,
    model: str = PriceModelKind.GBM,
    model_params: Mapping[str, Any] | None = None,
    paths: int = 10_000,
    steps: int = 96,
    horizon_days: Decimal = Decimal("4"),
    impact: str = "sqrt",
    impact_coefficient: Decimal = Decimal("0.01"),
    cascade: bool = True,
    liquidation_delay_steps: int = 0,
    seed: int | None = None,
    fund: InsuranceFund | None = None,
    fund_balance: Decimal | None = None,
    parameter_versions: dict[str, int] | None = None,
    parameter_overrides: dict[str, dict[str, Decimal]] | None = None,
    volatility_window_days: int = 30,
    target_exhaustion_probability: Decimal = Decimal("0.01"),
    chunk_size: int | None = None,
    at: datetime | None = None,
    enqueue: bool = True,
    purpose: str | None = None,
    idempotency_key: str = "",
    request_sha256: str = "",
) -> CoverageRun:
    """Validate a run's inputs, freeze positions and market inputs; on commit write them, then enqueue the chunks.

    Money (fund_balance) in quote units, rates as fractions, horizon in days. The parameter set is
    the current parameters, or `parameter_versions` ({symbol: version}), or `parameter_overrides`
    ({symbol: {field: value}} applied to the current version, e.g. a proposal's changes). Without
    `fund_balance` the fund's ledger balance is used (the oldest fund when `fund` is not given).
    impact_coefficient k gives impact k·(V/depth) or k·√(V/depth); with Market.depth being the notional
    that moves the price about 1 %, k = 0.01 matches it. `purpose` asks for a baseline or a proposal impact
    run; the stored purpose is derived from the inputs (see `run_purpose_derive`). Raises ValidationError
    naming the field; nothing is written or enqueued then.
    """
    if parameter_versions and parameter_overrides:
        raise ValidationError({"parameter_overrides": "Give either parameter versions or overrides, not both."})
    parameter_set = (
        ParameterSet.OVERRIDES
        if parameter_overrides
        else ParameterSet.VERSIONS
        if parameter_versions
        else ParameterSet.CURRENT
    )
    if fund is None and fund_balance is None:
        fund = fund_default()
        if fund is None:
            raise ValidationError({"fund": "There is no insurance fund yet; create one or give a fund balance."})
    balance = fund_balance if fund_balance is not None else ledger_balance(fund=fund)  # type: ignore[arg-type]
    if balance < 0:
        field = "fund_balance" if fund_balance is not None else "fund"
        raise ValidationError({field: f"The fund balance is negative ({balance}); the simulation needs a fund ≥ 0."})
    params = model_params_clean(model, model_params)
    derived_purpose = run_purpose_derive(
        requested=purpose,
        model=model,
        overrides=run_overrides(
            model=model,
            model_params=params,
            fund_balance=fund_balance,
            parameter_versions=parameter_versions,
            parameter_overrides=parameter_overrides,
        ),
    )
    run = CoverageRun(
        label=label.strip() or "Coverage run",
        purpose=derived_purpose,
        requested_by=requested_by,
        fund=fund,
        fund_balance=balance,
        model=model,
        model_params=params,
        paths=paths,
        steps=steps,
        horizon_days=horizon_days,
        impact=impact,
        impact_coefficient=impact_coefficient,
        cascade=cascade,
        liquidation_delay_steps=liquidation_delay_steps,
        seed=seed if seed is not None else secrets.randbits(63),
        chunk_size=chunk_size or DEFAULT_CHUNK_SIZE,
        target_exhaustion_probability=target_exhaustion_probability,
        volatility_window_days=volatility_window_days,
        parameter_set=parameter_set,
        parameter_versions=dict(parameter_versions or {}),
        engine_version=ENGINE_VERSION,
        status=RunStatus.QUEUED,
        idempotency_key=idempotency_key,
        request_sha256=request_sha256,
    )
    run.full_clean(exclude=["parameter_overrides", "market_inputs", "inputs_file", "inputs_sha256"])
    _config_check(run)

    at = at or timezone.now()
    with transaction.atomic():
        collected = coverage_inputs_collect(
            parameter_set=parameter_set,
            parameter_versions=parameter_versions,
            parameter_overrides=parameter_overrides,
            volatility_window_days=volatility_window_days,
            model=model,
            steps=steps,
            horizon_days=horizon_days,
            at=at,
        )
        frozen = collected.frozen
        if model == PriceModelKind.STRESS:  # the scenario's path for these markets, as the workers will replay it
            params = stress_params_freeze(
                params=params,
                symbols=[market.symbol for market in frozen.markets],
                horizon_hours=float(horizon_days) * 24,
            )
            run.model_params = params
        try:
            engine_model(
                model, params, correlation=frozen.correlation, bootstrap_returns=frozen.bootstrap_returns
            ).validate(frozen.markets, run_config(run))
        except ValueError as error:
            raise ValidationError({"model_params": str(error)}) from None
        run.parameter_overrides = {
            symbol: {field: f"{value.normalize():f}" for field, value in changes.items()}
            for symbol, changes in collected.overrides.items()
        }
        estimate = collected.estimate
        run.market_inputs = {
            "markets": collected.market_inputs,
            "window": {
                "days": estimate.window_days,
                "since": estimate.since.isoformat(),
                "until": estimate.until.isoformat(),
            },
            "correlation": {
                "symbols": [m.symbol for m in frozen.markets],
                "matrix": frozen.correlation.tolist(),
                "source": estimate.correlation_source,
                "observations": estimate.correlation_observations,
            },
            "bootstrap_returns": len(frozen.bootstrap_returns),
        }
        run.position_count = len(frozen.portfolio)
        run.chunk_count = chunk_count(run.paths, run.chunk_size)
        run.save()
        run.inputs_file = f"{run_directory(run.pk)}/inputs.npz"
        frozen_arrays = frozen.to_arrays()
        inputs = arrays_encode(frozen_arrays)
        run.inputs_sha256 = hashlib.sha256(inputs).hexdigest()
        run.book_sha256 = book_sha256(frozen_arrays)
        run.storage = run_storage_identity()
        run.save(update_fields=["inputs_file", "inputs_sha256", "book_sha256", "storage"])
        CoverageChunk.objects.bulk_create(
            [
                CoverageChunk(
                    run=run,
                    chunk_index=index,
                    path_start=index * run.chunk_size,
                    path_stop=min((index + 1) * run.chunk_size, run.paths),
                )
                for index in range(run.chunk_count)
            ]
        )
        audit_record(
            action=AuditAction.COVERAGE_RUN_CREATED,
            subject=run,
            actor=requested_by,
            data={
                "label": run.label,
                "purpose": derived_purpose,
                "parameter_set": parameter_set,
                "model": model,
                "paths": paths,
            },
        )
        run_id, inputs_file = run.pk, run.inputs_file
        # registered first: the file is on disk before any chunk is sent to read it
        transaction.on_commit(lambda: coverage_inputs_store(run_id=run_id, relative=inputs_file, data=inputs))
        if enqueue:
            transaction.on_commit(lambda: coverage_run_enqueue_or_defer(run_id=run_id))
    return run


class IdempotencyKeyReused(DomainError):
    """An Idempotency-Key already names a run created from a different request."""

    status = 422
    default_code = "idempotency_key_reused"


def coverage_run_create_idempotent(
    *, idempotency_key: str, request_sha256: str, requested_by: str, **inputs: Any
) -> tuple[CoverageRun, bool]:
    """`coverage_run_create` at most once per (requested_by, idempotency_key); returns (run, created).

    A retry with the same key and the same request (`request_sha256`, the client's canonical body) gets the run
    the first request created; the same key with another request raises IdempotencyKeyReused (nothing written).
    """

    def existing() -> CoverageRun | None:
        run = CoverageRun.objects.filter(requested_by=requested_by, idempotency_key=idempotency_key).first()
        if run is not None and run.request_sha256 != request_sha256:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request; send a new key for a new run.",
                field="Idempotency-Key",
            )
        return run

    run = existing()
    if run is not None:
        return run, False
    try:
        run = coverage_run_create(
            **inputs, requested_by=requested_by, idempotency_key=idempotency_key, request_sha256=request_sha256
        )
    except (IntegrityError, ValidationError):
        run = existing()  # a concurrent request with the same key created it first
        if run is None:
            raise
        return run, False
    return run, True


def coverage_inputs_store(*, run_id: int, relative: str, data: bytes) -> bool:
    """Write a committed run's frozen inputs (`data`, the .npz bytes hashed at creation) to the run storage.

    Runs once the run's transaction has committed. When the disk or the object store refuses, the run fails
    with the reason (its chunks are then never sent) instead of failing later on a missing file. Returns
    whether it was written.
    """
    try:
        bytes_write(relative, data)
    except OSError as error:
        logger.exception("coverage run %s: frozen inputs not written", run_id)
        coverage_run_fail(
            run_id=run_id,
            reason=f"The frozen inputs could not be written to {relative} ({error}); start a new run.",
        )
        return False
    return True


def coverage_run_fail(*, run_id: int, reason: str) -> bool:
    """Mark an active run failed with `reason` and revoke its outstanding chunks; False if it was not active."""
    changed = CoverageRun.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES).update(
        status=RunStatus.FAILED, error=reason, finished_at=timezone.now()
    )
    if changed:
        logger.warning("coverage run %s failed: %s", run_id, reason)
        task_ids = list(
            CoverageChunk.objects.filter(run_id=run_id)
            .exclude(status=ChunkStatus.DONE)
            .exclude(task_id="")
            .values_list("task_id", flat=True)
        )
        transaction.on_commit(lambda: tasks_revoke(task_ids))
    return bool(changed)


def chunk_queue() -> str | None:
    """The Celery queue chunk tasks go to (None: the default queue)."""
    return getattr(settings, "INSURANCE_CHUNK_QUEUE", None)


def coverage_run_enqueue(*, run_id: int) -> int:
    """Send one task per unfinished chunk, joined by a chord whose callback merges the run. Returns the count.

    Each chunk gets a fresh task id, stored on its row so the sweeper can tell lost chunks from running ones
    and cancel can revoke them.
    """
    chunks = list(
        CoverageChunk.objects.filter(run_id=run_id, run__status__in=ACTIVE_STATUSES)
        .exclude(status=ChunkStatus.DONE)
        .order_by("chunk_index")
    )
    if not chunks:
        return 0
    now = timezone.now()
    for chunk in chunks:
        chunk.task_id = f"coverage-{run_id}-{chunk.chunk_index}-{uuid.uuid4().hex[:12]}"
        chunk.enqueued_at = now
    CoverageChunk.objects.bulk_update(chunks, ["task_id", "enqueued_at"])
    options: dict[str, Any] = {"queue": chunk_queue()} if chunk_queue() else {}
    header = [
        dispatch.signature(SIMULATE_CHUNK, run_id=run_id, chunk_index=chunk.chunk_index).set(
            task_id=chunk.task_id, **options
        )
        for chunk in chunks
    ]
    chord(header)(dispatch.signature(FINISH_RUN, run_id=run_id))
    return len(chunks)


def coverage_run_enqueue_or_defer(*, run_id: int) -> int:
    """`coverage_run_enqueue`, or, when the broker cannot take the tasks, leave the run queued with its chunks
    marked never sent: the sweeper (`insurance.sweep_stale_runs`) sends them once the broker is back."""
    try:
        return coverage_run_enqueue(run_id=run_id)
    except (KombuError, RedisError, OSError) as error:
        logger.warning("coverage run %s: broker unavailable (%s); the sweeper will send its chunks", run_id, error)
        CoverageChunk.objects.filter(run_id=run_id, status=ChunkStatus.PENDING).update(task_id="", enqueued_at=None)
        return 0


def coverage_chunks_enqueue(*, run_id: int, chunk_indices: list[int]) -> None:
    """Send single chunk tasks (no chord): the last chunk to finish enqueues the merge itself."""
    options: dict[str, Any] = {"queue": chunk_queue()} if chunk_queue() else {}
    now = timezone.now()
    for index in chunk_indices:
        task_id = f"coverage-{run_id}-{index}-{uuid.uuid4().hex[:12]}"
        CoverageChunk.objects.filter(run_id=run_id, chunk_index=index).update(task_id=task_id, enqueued_at=now)
        dispatch.task(SIMULATE_CHUNK).apply_async(
            kwargs={"run_id": run_id, "chunk_index": index}, task_id=task_id, **options
        )


def coverage_run_cancel(*, run: CoverageRun, actor: str) -> CoverageRun:
    """Stop a queued or running run: chunks not yet started are revoked, running ones discard their result."""
    with transaction.atomic():
        changed = CoverageRun.objects.filter(pk=run.pk, status__in=ACTIVE_STATUSES).update(
            status=RunStatus.CANCELLED, finished_at=timezone.now(), error=f"Cancelled by {actor}."
        )
        if not changed:
            run.refresh_from_db()
            raise CoverageRunError(
                f"Run #{run.pk} is {run.get_status_display().lower()}; only queued or running runs can be cancelled.",
                code="not_cancellable",
                field="status",
            )
        audit_record(action=AuditAction.COVERAGE_RUN_CANCELLED, subject=run, actor=actor)
        task_ids = list(
            CoverageChunk.objects.filter(run=run)
            .exclude(status=ChunkStatus.DONE)
            .exclude(task_id="")
            .values_list("task_id", flat=True)
        )
        transaction.on_commit(lambda: tasks_revoke(task_ids))
    run.refresh_from_db()
    return run


def tasks_revoke(task_ids: list[str]) -> None:
    """Revoke queued tasks; a broker without broadcast support only loses the shortcut (chunks check status)."""
    if not task_ids:
        return
    try:
        current_app.control.revoke(task_ids)
    except (KombuError, OSError):  # broker unreachable, or without remote control
        logger.warning("could not revoke %d coverage chunk tasks; they will stop when they start", len(task_ids))
