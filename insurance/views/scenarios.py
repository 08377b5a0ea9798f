"""Scenario pages: the library with a chart of each path, a scenario with its runs, replay forms, running a
scenario as a stress run, and the latest results of several scenarios side by side."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insurance.forms import ReplayScenarioForm, ScenarioRunForm
from insurance.models import Scenario
from insurance.selectors.scenarios import (
    scenario_chart,
    scenario_get,
    scenario_list,
    scenario_markets,
    scenario_path,
    scenario_paths,
    scenario_runs,
    stress_results_latest,
)
from insurance.services.coverage_runs import coverage_run_create
from insurance.services.scenarios import scenario_replay_save
from insurance.views.errors import form_add_service_errors
from riskgov.core.models import Permission
from riskgov.core.permissions import permission_required
from riskgov.core.ratelimit import rate_limited, user_subject


def _actor(request: HttpRequest) -> str:
    return request.user.get_username() if request.user.is_authenticated else "anonymous"


def _scenario_or_404(slug: str) -> Scenario:
    scenario = scenario_get(slug=slug)
    if scenario is None:
        raise Http404(f"No scenario {slug!r} in the library.")
    return scenario


@require_GET
def scenario_index(request: HttpRequest) -> HttpResponse:
    scenarios = list(scenario_list())
    markets = scenario_markets()
    paths = scenario_paths(scenarios, markets)
    results = {result.slug: result for result in stress_results_latest()}
    rows = [(scenario, results.get(scenario.slug), paths[scenario.pk]) for scenario in scenarios]
    charts = {scenario.slug: scenario_chart(paths[scenario.pk]) for scenario in scenarios}
    return render(
        request,
        "insurance/scenario_list.html",
        {"rows": rows, "charts": charts, "symbols": [market.symbol for market in markets]},
    )


def _detail(request: HttpRequest, scenario: Scenario, form: ScenarioRunForm, *, status: int = 200) -> HttpResponse:
    markets = scenario_markets()
    path = scenario_path(scenario=scenario, markets=markets)
    latest = stress_results_latest(slugs=[scenario.slug])
    return render(
        request,
        "insurance/scenario_detail.html",
        {
            "scenario": scenario,
            "path": path,
            "chart": {scenario.slug: scenario_chart(path)},
            "betas": [(symbol, scenario.beta_for(symbol)) for symbol in path.symbols],
            "waypoint_rows": []
            if scenario.is_replay
            else [
                (hours, float(waypoint[1]), row)
                for hours, waypoint, row in zip(path.hours, scenario.waypoints, path.changes, strict=True)
            ],
            "sources": [line for line in scenario.source.splitlines() if line.strip()],
            "runs": scenario_runs(scenario=scenario),
            "latest": latest[0] if latest else None,
            "form": form,
            "can_run": request.user.has_perm(Permission.MANAGE_COVERAGE_RUNS.perm),
        },
        status=status,
    )


@require_GET
def scenario_detail(request: HttpRequest, scenario: str) -> HttpResponse:
    found = _scenario_or_404(scenario)
    return _detail(request, found, ScenarioRunForm.for_scenario(found))


@permission_required(Permission.MANAGE_COVERAGE_RUNS)
@require_POST
@rate_limited("coverage_run_create", subject=user_subject)
def scenario_run(request: HttpRequest, scenario: str) -> HttpResponse:
    found = _scenario_or_404(scenario)
    form = ScenarioRunForm.for_scenario(found, request.POST)
    if form.is_valid():
        try:
            run = coverage_run_create(**form.service_arguments(found), requested_by=_actor(request))
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"Stress run #{run.pk} of {found.name} queued: {run.chunk_count} chunks.")
            return redirect("insurance:run-detail", run_id=run.pk)
    return _detail(request, found, form, status=400)


def _replay_form_page(
    request: HttpRequest, form: ReplayScenarioForm, scenario: Scenario | None, *, status: int
) -> HttpResponse:
    return render(request, "insurance/scenario_form.html", {"form": form, "scenario": scenario}, status=status)


def _replay_save(request: HttpRequest, scenario: Scenario | None) -> HttpResponse:
    initial = None
    if scenario is not None:
        initial = {
            field: getattr(scenario, field)
            for field in ("name", "replay_start", "replay_end", "scale", "description", "source")
        }
    form = ReplayScenarioForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = scenario_replay_save(**form.cleaned_data, scenario=scenario, actor=_actor(request))
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"Replay {saved.name!r} saved.")
            return redirect("insurance:scenario-detail", scenario=saved.slug)
    return _replay_form_page(request, form, scenario, status=400 if request.method == "POST" else 200)


@permission_required(Permission.MANAGE_COVERAGE_RUNS)
@require_http_methods(["GET", "POST"])
def scenario_new(request: HttpRequest) -> HttpResponse:
    return _replay_save(request, None)


@permission_required(Permission.MANAGE_COVERAGE_RUNS)
@require_http_methods(["GET", "POST"])
def scenario_edit(request: HttpRequest, scenario: str) -> HttpResponse:
    found = _scenario_or_404(scenario)
    if not found.is_replay:
        raise Http404("Only replays are edited here; the library's shocks are data migrations.")
    return _replay_save(request, found)


@require_GET
def scenario_compare(request: HttpRequest) -> HttpResponse:
    """The latest stress result of each chosen scenario (all with a result when none is chosen), side by side."""
    scenarios = list(scenario_list())
    chosen = [slug for slug in request.GET.getlist("scenario") if slug]
    results = stress_results_latest(slugs=chosen or None)
    markets = scenario_markets()
    shown = [scenario for scenario in scenarios if scenario.slug in {result.slug for result in results}]
    paths = scenario_paths(shown, markets)
    return render(
        request,
        "insurance/scenario_compare.html",
        {
            "scenarios": scenarios,
            "chosen": set(chosen),
            "results": results,
            "charts": {scenario.slug: scenario_chart(paths[scenario.pk]) for scenario in shown},
        },
    )
