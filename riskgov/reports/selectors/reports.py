"""Reads behind exposure reports: the snapshot set of a period, parameters, insurance, and report lists."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from django.db.models import Count, Prefetch, Q, QuerySet

from insurance.models import CoverageRun, InsuranceFund
from insurance.selectors.coverage import Headline, TrendPoint, coverage_trend, run_headline, run_latest_baseline
from insurance.selectors.funds import fund_balance, fund_default
from riskgov.governance.models.governance import ProposalState
from riskgov.governance.selectors.proposals import ProposalRow, proposal_rows
from riskgov.markets.models import PROTOCOL_SCOPE, ExposureSnapshot, MarginParameters, Market
from riskgov.markets.selectors.overview import thin_indices
from riskgov.reports.models import DeliveryStatus, ExposureReport, ReportSchedule, ReportSubscription

HISTORY_POINTS = 200
_ADDRESS_SPLIT = re.compile(r"[\s,;]+")


def snapshot_in_period(*, start: datetime, end: datetime) -> ExposureSnapshot | None:
    """The protocol snapshot nearest the end of [start, end): the last one taken inside the period."""
    return (
        ExposureSnapshot.objects.filter(scope=PROTOCOL_SCOPE, taken_at__gte=start, taken_at__lt=end)
        .order_by("-taken_at")
        .first()
    )


def snapshot_set_at(*, taken_at: datetime) -> list[ExposureSnapshot]:
    """Every row of the snapshot set taken at `taken_at`: the protocol row first, then markets by symbol."""
    rows = list(ExposureSnapshot.objects.filter(taken_at=taken_at).select_related("market"))
    return sorted(rows, key=lambda s: (s.scope != PROTOCOL_SCOPE, s.scope))


def snapshot_series_in_period(*, scope: str, start: datetime, end: datetime) -> list[tuple[datetime, Any, Any, dict]]:
    """(taken_at, oi_long, oi_short, near_liquidation) for one scope inside the period, at most HISTORY_POINTS."""
    rows = list(
        ExposureSnapshot.objects.filter(scope=scope, taken_at__gte=start, taken_at__lt=end)
        .order_by("taken_at")
        .values_list("taken_at", "oi_long", "oi_short", "near_liquidation")
    )
    return [rows[i] for i in thin_indices(len(rows), HISTORY_POINTS)]


def parameters_in_force(*, at: datetime, markets: list[Market]) -> dict[int, MarginParameters]:
    """Market id → the parameter version in force at `at`."""
    current: dict[int, MarginParameters] = {}
    versions = MarginParameters.objects.effective(at).filter(market__in=markets).order_by("market_id", "version")
    for params in versions:
        current[params.market_id] = params  # ascending versions: the last one wins
    return current


def parameter_changes_in_period(
    *, start: datetime, end: datetime, markets: list[Market] | None = None
) -> list[tuple[MarginParameters, MarginParameters | None]]:
    """Versions that took effect in [start, end), oldest first, each with the version it replaced."""
    changed = MarginParameters.objects.filter(effective_at__gte=start, effective_at__lt=end).select_related("market")
    if markets:
        changed = changed.filter(market__in=markets)
    changed_rows = list(changed.order_by("effective_at", "market__symbol", "version"))
    wanted = Q()
    for row in changed_rows:
        wanted |= Q(market_id=row.market_id, version=row.version - 1)
    previous = {(p.market_id, p.version): p for p in MarginParameters.objects.filter(wanted)} if changed_rows else {}
    return [(row, previous.get((row.market_id, row.version - 1))) for row in changed_rows]


@dataclass(frozen=True)
class InsuranceState:
    fund: InsuranceFund
    balance: Any
    run: CoverageRun | None
    headline: Headline | None
    trend: list[TrendPoint]


def insurance_at(*, at: datetime) -> InsuranceState | None:
    """The default fund's ledger balance at `at`, the newest baseline run that succeeded before it, and the
    coverage trend of baseline runs up to then (what-if, proposal and stress runs never enter a report)."""
    fund = fund_default()
    if fund is None:
        return None
    run = run_latest_baseline(before=at)
    headline = run_headline(run) if run is not None else None
    return InsuranceState(
        fund=fund,
        balance=fund_balance(fund=fund, at=at),
        run=run,
        headline=headline,
        trend=coverage_trend(before=at),
    )


OPEN_PROPOSAL_STATES = frozenset(
    {ProposalState.PENDING, ProposalState.ACTIVE, ProposalState.SUCCEEDED, ProposalState.QUEUED}
)


def proposals_in_period(*, start: datetime, end: datetime) -> list[ProposalRow]:
    """Proposals open at the end of [start, end), and those decided inside it (vote ended, executed,
    canceled or vetoed), with their state as of the period end; oldest first."""
    rows = []
    for row in proposal_rows(now=end):
        proposal = row.proposal
        if proposal.created_at >= end:
            continue
        instants = (proposal.voting_ends_at, proposal.executed_at, proposal.canceled_at, proposal.vetoed_at)
        decided_in_period = any(at is not None and start <= at < end for at in instants)
        if row.state in OPEN_PROPOSAL_STATES or decided_in_period:
            rows.append(row)
    return sorted(rows, key=lambda r: (r.proposal.created_at, r.proposal.pk))


def report_schedule_recipients(*, schedule: ReportSchedule) -> list[str]:
    """The schedule's listed addresses and its subscribers, lower-cased, without duplicates, sorted."""
    listed = {address.lower() for address in _ADDRESS_SPLIT.split(schedule.recipients) if address}
    subscribed = {  # only confirmed ones: a pending address has not opted in
        email.lower()
        for email in schedule.subscriptions.filter(confirmed_at__isnull=False).values_list("email", flat=True)
    }
    return sorted(listed | subscribed)


def report_schedule_to_generate(*, schedule_id: int, on_demand: bool) -> ReportSchedule | None:
    """The schedule beat (or a staff request, `on_demand`) asks a report of; None when it is gone, or disabled
    and not asked on demand."""
    schedule = ReportSchedule.objects.filter(pk=schedule_id).first()
    if schedule is None or (not schedule.enabled and not on_demand):
        return None
    return schedule


def report_schedule_list() -> QuerySet[ReportSchedule]:
    return (
        ReportSchedule.objects.select_related("crontab")
        .prefetch_related("markets")
        .annotate(
            report_count=Count("reports", distinct=True),
            subscriber_count=Count("subscriptions", filter=Q(subscriptions__confirmed_at__isnull=False), distinct=True),
        )
    )


class ScheduleRow(NamedTuple):
    schedule: ReportSchedule
    subscriptions: list[ReportSubscription]


def report_schedule_rows(*, with_subscriptions: bool) -> list[ScheduleRow]:
    """Every schedule with its counts and, when asked (staff), its subscriptions by e-mail: three queries at
    most, however many schedules and subscriptions there are."""
    schedules = report_schedule_list()
    if not with_subscriptions:
        return [ScheduleRow(schedule, []) for schedule in schedules]
    by_email = Prefetch("subscriptions", queryset=ReportSubscription.objects.order_by("email"), to_attr="by_email")
    return [ScheduleRow(schedule, schedule.by_email) for schedule in schedules.prefetch_related(by_email)]


def report_list(
    *,
    schedule_id: int | None = None,
    kind: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[ExposureReport]:
    """Reports newest period first, without their bulky columns; dates filter on the period (UTC days)."""
    reports = ExposureReport.objects.select_related("schedule").defer("content", "charts", "html")
    if schedule_id is not None:
        reports = reports.filter(schedule_id=schedule_id)
    if kind:
        reports = reports.filter(kind=kind)
    if date_from is not None:
        reports = reports.filter(period_end__gt=datetime.combine(date_from, time.min, tzinfo=UTC))
    if date_to is not None:
        day_after = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
        reports = reports.filter(period_start__lt=day_after)
    return reports.annotate(
        delivered=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.SENT)),
        delivery_count=Count("deliveries"),
    ).order_by("-period_end", "schedule__name", "-pk")


def report_get(*, report_id: int) -> ExposureReport:
    return ExposureReport.objects.select_related("schedule").get(pk=report_id)


def report_previous(*, report: ExposureReport) -> ExposureReport | None:
    return (
        ExposureReport.objects.filter(schedule_id=report.schedule_id, period_end__lte=report.period_start)
        .order_by("-period_end")
        .only("pk", "period_label")
        .first()
    )


def subscription_by_token(*, token: str) -> ReportSubscription | None:
    return ReportSubscription.objects.select_related("schedule").filter(token=token).first()


def subscriptions_for(*, schedule: ReportSchedule, email: str) -> ReportSubscription | None:
    return ReportSubscription.objects.filter(schedule=schedule, email__iexact=email).first()
