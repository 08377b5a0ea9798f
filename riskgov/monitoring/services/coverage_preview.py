"""The paired coverage preview of a margin recommendation: what-if runs, current vs recommended parameters.

Both runs share seed, paths, horizon and the book frozen at one instant, so the difference is estimated on the
same paths. They are what-if runs: they never feed the fund's headline, alerts, reports or trends.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from insurance.models import RunPurpose
from insurance.services.coverage_pairs import coverage_pair_attach
from riskgov.core import dispatch
from riskgov.monitoring.models import MarginRecommendation, RecommendationStatus

RECOMMENDATION_PREVIEW_TASK = "riskgov.recommendation_coverage_preview"
RECOMMENDATION_PREVIEW_PATHS = 2000
RECOMMENDATION_PREVIEW_SEED_BASE = 8_000_000


class CoveragePreviewError(Exception):
    """A coverage preview cannot be started for this recommendation in its current state."""


def recommendation_overrides(recommendation: MarginRecommendation) -> dict[str, dict[str, Decimal]]:
    """The recommended values as {market symbol: {field: value}}; fields the policy clears (None) are left out."""
    return {
        recommendation.market.symbol: {
            field: Decimal(value) for field, value in recommendation.values.items() if value is not None
        }
    }


def recommendation_coverage_request(*, recommendation_id: int, now: datetime | None = None) -> MarginRecommendation:
    """Send the coverage preview of a pending recommendation to the workers on commit (a refused one again).

    Raises CoveragePreviewError when the recommendation is decided or its runs exist already.
    """
    now = now or timezone.now()
    with transaction.atomic():
        recommendation = MarginRecommendation.objects.select_for_update().get(pk=recommendation_id)
        if recommendation.status != RecommendationStatus.PENDING:
            raise CoveragePreviewError(f"this recommendation is {recommendation.get_status_display().lower()}")
        if recommendation.coverage_current_id is not None:
            raise CoveragePreviewError("its coverage preview has started already")
        recommendation.coverage_error = ""
        recommendation.coverage_requested_at = now
        recommendation.save(update_fields=["coverage_error", "coverage_requested_at"])
        dispatch.send_on_commit(RECOMMENDATION_PREVIEW_TASK, recommendation_id=recommendation.pk)
    return recommendation


def recommendation_coverage_preview(*, recommendation_id: int, now: datetime | None = None) -> MarginRecommendation:
    """Start the paired what-if runs of a pending recommendation; safe to run twice.

    The proposed side overrides the parameters in force with the recommended values (rates as fractions,
    max leverage a multiple, OI cap quote notional). A decided recommendation gets no runs; a refusal
    (no fund, invalid inputs) is recorded in `coverage_error`, never raised.
    """
    now = now or timezone.now()
    with transaction.atomic():
        recommendation = (
            MarginRecommendation.objects.select_for_update().select_related("market").get(pk=recommendation_id)
        )
        if recommendation.status != RecommendationStatus.PENDING:
            return recommendation  # decided before the workers got to it: nothing to preview
        coverage_pair_attach(
            recommendation,
            label=f"Recommendation #{recommendation.pk} ({recommendation.market.symbol})",
            requested_by=f"recommendation:{recommendation.pk}",
            overrides=recommendation_overrides(recommendation),
            purpose=RunPurpose.WHAT_IF,
            seed=RECOMMENDATION_PREVIEW_SEED_BASE + int(recommendation.pk),
            at=now,
            paths=RECOMMENDATION_PREVIEW_PATHS,
        )
    return recommendation
