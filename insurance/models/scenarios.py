"""The scenario library: named price shocks with their sources, and replays of stored price history."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

MAX_SCALE = Decimal("10")
MAX_REPLAY_DAYS = 90  # a replay's path is frozen into each run, hour by hour: 2,160 rows per market at most


class ScenarioKind(models.TextChoices):
    SHOCK = "shock", "Named shock"
    REPLAY = "replay", "Replay of stored prices"


class Scenario(models.Model):
    """One stress scenario a run can use (`model="stress"`, `model_params={"scenario": slug}`).

    A shock is a list of waypoints [hours from now, change] (fractions: −0.3 = −30 %) scaled per market by
    `betas` ({symbol: beta}; `default_beta` for markets not listed). A replay takes the protocol's own hourly
    prices in [replay_start, replay_end] and replays each market's log returns, multiplied by `scale`.
    A run freezes the path it used, so editing a scenario never changes a finished run.
    """

    slug = models.SlugField(max_length=64, unique=True, help_text="What runs name the scenario by.")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=ScenarioKind.choices)
    description = models.TextField(blank=True, default="")
    source = models.TextField(
        blank=True, default="", help_text="Where the figures come from: citations or links, one a line."
    )
    waypoints = models.JSONField(
        default=list, blank=True, help_text="Shock: [[hours, change], …], changes as fractions."
    )
    betas = models.JSONField(default=dict, blank=True, help_text='Shock: {"BTC": 1.0, "ETH": 1.3} per market.')
    default_beta = models.DecimalField(
        max_digits=8, decimal_places=4, default=Decimal("1"), help_text="Shock: beta of markets not in betas."
    )
    replay_start = models.DateTimeField(null=True, blank=True)
    replay_end = models.DateTimeField(null=True, blank=True)
    scale = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(MAX_SCALE)],
        help_text="Replay: every log return is multiplied by this (1 = as it was).",
    )
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="shock") | Q(replay_start__isnull=False, replay_end__isnull=False),
                name="scenario_replay_has_window",
            ),
            models.CheckConstraint(
                condition=Q(replay_start__isnull=True) | Q(replay_end__gt=models.F("replay_start")),
                name="scenario_replay_window_order",
            ),
            models.CheckConstraint(condition=Q(scale__gt=0), name="scenario_scale_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_replay(self) -> bool:
        return self.kind == ScenarioKind.REPLAY

    @property
    def duration_hours(self) -> float:
        """How long the scenario's path lasts, in hours (a replay: its window)."""
        if self.is_replay and self.replay_start and self.replay_end:
            return (self.replay_end - self.replay_start).total_seconds() / 3600
        return float(self.waypoints[-1][0]) if self.waypoints else 0.0

    def beta_for(self, symbol: str) -> float:
        """A shock's beta for `symbol` (`default_beta` when the market is not listed)."""
        return float(self.betas.get(symbol, self.default_beta))
