"""Insurance pages: fund and run list, new run form, run page with live progress, compare, downloads."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insurance.forms import CoverageRunForm
from insurance.models import CoverageRun, RunStatus
from insurance.selectors.compare import run_compare_pair
from insurance.selectors.coverage import (
    coverage_trend,
    coverage_trend_chart,
    run_export,
    run_headline,
    run_latest_baseline,
    run_list,
    run_per_path_csv_chunks,
    run_progress,
)
from insurance.selectors.funds import fund_balance, fund_balance_history, fund_default, fund_list
from insurance.selectors.price_history import MIN_RETURNS, volatility_preview
from insurance.services.coverage_files import CoverageFileError
from insurance.services.coverage_runs import CoverageRunError, coverage_run_cancel, coverage_run_create
from insurance.views.errors import form_add_service_errors
from riskgov.core.models import Permission
from riskgov.core.permissions import permission_required
from riskgov.core.ratelimit import rate_limited, user_subject

DEFAULT_WINDOW_DAYS = 30


def _actor(request: HttpRequest) -> str:
    return request.user.get_username() if request.user.is_authenticated else "anonymous"


@require_GET
def insurance_home(request: HttpRequest) -> HttpResponse:
    funds = fund_list()
    fund = next((f for f in funds if str(f.pk) == request.GET.get("fund")), None) or fund_default()
    latest = run_latest_baseline()
    trend = coverage_trend()
    history = fund_balance_history(fund=fund) if fund else []
    return render(
        request,
        "insurance/home.html",
        {
            "funds": funds,
            "fund": fund,
            "balance": fund_balance(fund=fund) if fund else None,
            "balance_chart": {
                "t": [point.occurred_at.isoformat() for point in history],
                "balance": [str(point.balance) for point in history],
            },
            "latest": latest,
            "trend": trend,
            "trend_chart": coverage_trend_chart(trend),
            "headline": run_headline(latest) if latest else None,
            "runs": run_list(),
        },
    )


@permission_required(Permission.MANAGE_COVERAGE_RUNS)
@require_http_methods(["GET", "POST"])
@rate_limited("coverage_run_create", subject=user_subject)
def run_new(request: HttpRequest) -> HttpResponse:
    form = CoverageRunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = coverage_run_create(**form.service_arguments(), requested_by=_actor(request))
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"Run #{run.pk} queued: {run.chunk_count} chunks of {run.chunk_size} paths.")
            return redirect("insurance:run-detail", run_id=run.pk)
    status = 400 if request.method == "POST" else 200
    window = getattr(form, "cleaned_data", {}).get("volatility_window_days")
    preview = volatility_preview(window_days=window or DEFAULT_WINDOW_DAYS, until=timezone.now())
    return render(
        request,
        "insurance/run_form.html",
        {"form": form, "preview": preview, "min_returns": MIN_RETURNS},
        status=status,
    )


@require_GET
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(CoverageRun.objects.select_related("fund"), pk=run_id)
    return render(
        request,
        "insurance/run_detail.html",
        {
            "run": run,
            "progress": run_progress(run),
            "headline": run_headline(run),
            "chunks": run.chunks.order_by("chunk_index") if run.status != RunStatus.SUCCEEDED else None,
        },
    )


@require_GET
def run_progress_fragment(request: HttpRequest, run_id: int) -> HttpResponse:
    """Polled by the run page while the run is active (progress and chunk table); once it is not, tells the page
    to reload."""
    run = get_object_or_404(CoverageRun, pk=run_id)
    response = render(
        request,
        "insurance/_run_progress.html",
        {"run": run, "progress": run_progress(run), "chunks": run.chunks.order_by("chunk_index")},
    )
    if not run.is_active:
        response["HX-Refresh"] = "true"
    return response


@permission_required(Permission.MANAGE_COVERAGE_RUNS)
@require_POST
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(CoverageRun, pk=run_id)
    try:
        coverage_run_cancel(run=run, actor=_actor(request))
    except CoverageRunError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Run #{run.pk} cancelled.")
    return redirect("insurance:run-detail", run_id=run.pk)


@require_GET
def run_compare(request: HttpRequest) -> HttpResponse:
    runs = CoverageRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-finished_at", "-pk")
    chosen = []
    for key in ("a", "b"):
        value = request.GET.get(key, "")
        chosen.append(runs.filter(pk=int(value)).first() if value.isdigit() else None)
    pairs = [(run, run_headline(run)) for run in chosen if run is not None]
    a, b = chosen
    return render(
        request,
        "insurance/run_compare.html",
        {
            "choices": runs.defer("metrics", "market_inputs")[:100],
            "a": a,
            "b": b,
            "pairs": pairs,
            "comparison": run_compare_pair(a, b) if a is not None and b is not None else None,
            "chart": [
                {
                    "label": f"#{run.pk} {run.label}",
                    "exceedance": (run.metrics or {})["exceedance"],
                    "fund": float(run.fund_balance),
                }
                for run, _ in pairs
            ],
        },
    )


def _succeeded_or_404(run_id: int) -> CoverageRun:
    return get_object_or_404(CoverageRun, pk=run_id, status=RunStatus.SUCCEEDED)


@require_GET
def run_download_csv(request: HttpRequest, run_id: int) -> HttpResponseBase:
    run = _succeeded_or_404(run_id)
    try:
        chunks = run_per_path_csv_chunks(run)  # streamed: a 100k-path table is never one string in memory
    except CoverageFileError as error:  # the results file is gone or altered
        return HttpResponse(str(error), status=410, content_type="text/plain")
    response = StreamingHttpResponse(chunks, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="coverage-run-{run.pk}-paths.csv"'
    return response


@require_GET
def run_download_json(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(CoverageRun.objects.select_related("fund"), pk=run_id)
    response = JsonResponse(run_export(run), encoder=DjangoJSONEncoder, json_dumps_params={"indent": 1})
    response["Content-Disposition"] = f'attachment; filename="coverage-run-{run.pk}.json"'
    return response
