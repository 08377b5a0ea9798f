"""Where a recommendation's paired coverage preview stands, and its paired deltas once both runs succeeded."""

from __future__ import annotations

from dataclasses import dataclass

from insurance.models import CoverageRun
from insurance.selectors.compare import RunComparison, run_compare_pair
from riskgov.monitoring.models import MarginRecommendation


@dataclass(frozen=True)
class PreviewSide:
    label: str
    run: CoverageRun | None


@dataclass(frozen=True)
class RecommendationCoveragePreview:
    """State: "not_started" (never sent), "queued" (runs not frozen yet), "running", "done" or "refused"."""

    state: str
    sides: list[PreviewSide]
    comparison: RunComparison | None  # recommended − current, when both runs succeeded

    @property
    def pending(self) -> bool:
        """The page keeps polling while this holds."""
        return self.state in ("queued", "running")


def recommendation_coverage_preview_state(recommendation: MarginRecommendation) -> RecommendationCoveragePreview:
    """The preview of `recommendation` (load it with coverage_current and coverage_proposed selected)."""
    current, proposed = recommendation.coverage_current, recommendation.coverage_proposed
    sides = [PreviewSide("Parameters in force", current), PreviewSide("Recommended parameters", proposed)]
    if recommendation.coverage_error:
        state = "refused"
    elif current is None or proposed is None:
        state = "queued" if recommendation.coverage_requested_at is not None else "not_started"
    elif current.is_active or proposed.is_active:
        state = "running"
    else:
        state = "done"
    comparison = run_compare_pair(current, proposed) if state == "done" and current and proposed else None
    return RecommendationCoveragePreview(state=state, sides=sides, comparison=comparison)
