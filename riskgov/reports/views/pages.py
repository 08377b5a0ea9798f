"""Report pages: list with filters, report page and downloads, staff "Generate now", subscriptions."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from riskgov.core import dispatch
from riskgov.core.models import Permission
from riskgov.core.permissions import has_permission, permission_required
from riskgov.core.ratelimit import rate_limited
from riskgov.governance.views.auth import session_address
from riskgov.reports.models import ExposureReport, ReportKind, ReportSchedule
from riskgov.reports.models.reports import REPORT_TASK
from riskgov.reports.selectors.reports import report_get, report_previous, report_schedule_rows, subscription_by_token
from riskgov.reports.selectors.reports import report_list as report_list_select
from riskgov.reports.services.render import report_filename, report_json
from riskgov.reports.services.rendered import RenderBusy, report_rendered_file
from riskgov.reports.services.reports import (
    ReportError,
    report_period_resolve,
    report_subscription_create,
    report_subscription_delete,
)
from riskgov.reports.services.subscriptions import report_subscription_confirm

PAGE_SIZE = 50


class ReportFilterForm(forms.Form):
    schedule = forms.ModelChoiceField(
        queryset=ReportSchedule.objects.order_by("name"), required=False, empty_label="All schedules"
    )
    kind = forms.ChoiceField(choices=[("", "All kinds"), *ReportKind.choices], required=False)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))


class GenerateForm(forms.Form):
    # No empty choice: the first schedule is the one shown, so "Generate now" works without choosing.
    schedule = forms.ModelChoiceField(queryset=ReportSchedule.objects.order_by("name"), empty_label=None)
    period = forms.CharField(
        required=False,
        max_length=16,
        help_text="YYYY-MM-DD or YYYY-Www; empty = last complete.",
        widget=forms.TextInput(attrs={"placeholder": "last complete"}),
    )


class SubscribeForm(forms.Form):
    schedule = forms.ModelChoiceField(queryset=ReportSchedule.objects.order_by("name"))
    email = forms.EmailField()


@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    schedule = filters.get("schedule")
    reports = report_list_select(
        schedule_id=schedule.pk if schedule else None,
        kind=filters.get("kind") or None,
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "generate_form": GenerateForm()}
    template = "reports/_report_rows.html" if request.htmx else "reports/report_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@require_GET
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    try:
        report = report_get(report_id=report_id)
    except ExposureReport.DoesNotExist as error:
        raise Http404("No such report.") from error
    deliveries = (
        list(report.deliveries.order_by("recipient"))
        if has_permission(request.user, Permission.VIEW_STAFF_PAGES)
        else []
    )
    return render(
        request,
        "reports/report_detail.html",
        {
            "report": report,
            "previous": report_previous(report=report),
            "deliveries": deliveries,
        },
    )


def _download(report_id: int) -> ExposureReport:
    return get_object_or_404(ExposureReport.objects.select_related("schedule"), pk=report_id)


def _attachment(body: str | bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _stored_attachment(report: ExposureReport, fmt: str, content_type: str) -> HttpResponseBase:
    """The file rendered once for this report version, streamed from storage (rendered now if it is the first)."""
    try:
        rendered = report_rendered_file(report=report, fmt=fmt)
    except RenderBusy as busy:
        response = HttpResponse(busy.message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(busy.retry_after)
        return response
    return FileResponse(
        rendered.file.open("rb"), as_attachment=True, filename=report_filename(report, fmt), content_type=content_type
    )


@require_GET
def report_download_csv(request: HttpRequest, report_id: int) -> HttpResponseBase:
    return _stored_attachment(_download(report_id), "csv", "text/csv; charset=utf-8")


@require_GET
def report_download_json(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _download(report_id)
    return _attachment(report_json(report), "application/json", report_filename(report, "json"))


@require_GET
def report_download_pdf(request: HttpRequest, report_id: int) -> HttpResponseBase:
    return _stored_attachment(_download(report_id), "pdf", "application/pdf")


@permission_required(Permission.MANAGE_REPORTS)
@require_POST
def report_generate(request: HttpRequest) -> HttpResponse:
    form = GenerateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a schedule; the period is YYYY-MM-DD or YYYY-Www.")
        return redirect("reports:report-list")
    schedule: ReportSchedule = form.cleaned_data["schedule"]
    try:
        period = report_period_resolve(schedule=schedule, period=form.cleaned_data["period"])
    except ReportError as error:
        messages.error(request, str(error))
        return redirect("reports:report-list")
    dispatch.send_on_commit(
        REPORT_TASK,
        schedule_id=schedule.pk,
        period=period.label,
        requested_by=request.user.get_username(),
        on_demand=True,
    )
    messages.success(
        request,
        f"{schedule} for {period.label} queued; it appears here in a moment "
        "(an existing report for that period is kept, not regenerated).",
    )
    return redirect("reports:report-list")


@require_GET
def schedule_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/schedules.html",
        {
            "rows": report_schedule_rows(with_subscriptions=has_permission(request.user, Permission.VIEW_STAFF_PAGES)),
            "subscribe_form": SubscribeForm(),
            "can_subscribe": _subscriber(request) is not None,
        },
    )


def _subscriber(request: HttpRequest) -> str | None:
    """Who may subscribe an address: a report manager (by username) or a holder signed in with their wallet."""
    if has_permission(request.user, Permission.MANAGE_REPORTS):
        return request.user.get_username()
    return session_address(request)


def _posted_email(request: HttpRequest) -> str | None:
    return request.POST.get("email") or None


@require_POST
@rate_limited("subscribe", subject=_posted_email)  # each request may mail a confirmation link
def subscription_create(request: HttpRequest) -> HttpResponse:
    actor = _subscriber(request)
    if actor is None:
        messages.error(request, "Sign in with your wallet (or as a report manager) to subscribe an address.")
        return redirect("reports:schedules")
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a valid e-mail address and choose a schedule.")
        return redirect("reports:schedules")
    try:
        subscription = report_subscription_create(
            schedule=form.cleaned_data["schedule"], email=form.cleaned_data["email"], created_by=actor
        )
    except ReportError as error:
        messages.error(request, str(error))
        return redirect("reports:schedules")
    if subscription.confirmed_at is None:
        messages.success(
            request,
            f"{subscription.email} receives “{subscription.schedule}” once it confirms from the mail just sent to it.",
        )
    else:
        messages.success(request, f"{subscription.email} receives “{subscription.schedule}”.")
    return redirect("reports:schedules")


@require_GET
def subscription_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the confirmation mail: works without signing in, the signed token is the credential."""
    subscription = report_subscription_confirm(token=token)
    return render(
        request,
        "reports/subscription_confirm.html",
        {"subscription": subscription},
        status=200 if subscription is not None else 404,
    )


@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Works without signing in: the token in the link is the credential. GET asks, POST removes."""
    subscription = subscription_by_token(token=token)
    if request.method == "GET":
        return render(
            request,
            "reports/unsubscribe.html",
            {"subscription": subscription, "token": token},
            status=200 if subscription else 404,
        )
    if subscription is None:
        return render(request, "reports/unsubscribe.html", {"subscription": None, "done": True}, status=404)
    email, schedule = subscription.email, subscription.schedule
    actor = request.user.get_username() if request.user.is_authenticated else f"unsubscribe-link:{email}"
    report_subscription_delete(subscription=subscription, actor=actor)
    return render(request, "reports/unsubscribe.html", {"done": True, "email": email, "schedule": schedule})


@require_GET
def document_styles(request: HttpRequest) -> HttpResponse:
    """The report document's stylesheet as a file: the page links it (the CSP refuses inline styles), while
    e-mail and PDF keep it inline from the same template."""
    response = render(request, "reports/_document_styles.css", content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response
