"""The Liquidations page: realised liquidations (chain events and imported history) with charts, and the
coverage model's backtest against their bad debt."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from riskgov.core.models import Permission
from riskgov.core.permissions import permission_required
from riskgov.monitoring.forms import CoverageBacktestForm, LiquidationFilterForm
from riskgov.monitoring.selectors.liquidations import (
    coverage_backtest_chart,
    coverage_backtest_latest,
    liquidation_charts,
    liquidation_totals,
    liquidations_page,
)
from riskgov.monitoring.services.coverage_backtest import coverage_backtest_request

BACKTEST_DEFAULT_DAYS = 30


def _backtest_form_initial() -> dict[str, Any]:
    yesterday = timezone.now().date() - timedelta(days=1)
    return {"start": yesterday - timedelta(days=BACKTEST_DEFAULT_DAYS - 1), "end": yesterday}


def _page(
    request: HttpRequest,
    *,
    filter_form: LiquidationFilterForm,
    backtest_form: CoverageBacktestForm,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {"form": filter_form, "backtest_form": backtest_form}
    if not filter_form.is_bound or filter_form.is_valid():
        filters = filter_form.filters()
        query = request.GET.copy()
        query.pop("page", None)
        context.update(
            page=liquidations_page(filters, page=request.GET.get("page")),
            totals=liquidation_totals(filters),
            charts=liquidation_charts(filters),
            query=query.urlencode(),
        )
    else:
        status = 400
    backtest = coverage_backtest_latest()
    context.update(backtest=backtest, backtest_chart=coverage_backtest_chart(backtest) if backtest else None)
    if backtest is not None and backtest.windows:
        context["backtest_rows"] = [
            {
                **window,
                "cells": list(zip(backtest.quantile_levels, window["quantiles"], window["exceeded"], strict=True)),
            }
            for window in backtest.windows
        ]
    return render(request, "riskgov/monitoring/liquidations.html", context, status=status)


@require_GET
def liquidation_list(request: HttpRequest) -> HttpResponse:
    """Realised liquidations filtered by market and days, 50 per page, charts by day, market and size."""
    form = LiquidationFilterForm(request.GET if request.GET.keys() - {"page"} else None)
    return _page(request, filter_form=form, backtest_form=CoverageBacktestForm(initial=_backtest_form_initial()))


@permission_required(Permission.MANAGE_MARGIN_POLICY)
@require_POST
def coverage_backtest_start(request: HttpRequest) -> HttpResponse:
    """Queue a coverage backtest over the days entered; a 400 with the field's reason when they cannot be."""
    form = CoverageBacktestForm(request.POST)
    if form.is_valid():
        try:
            backtest = coverage_backtest_request(
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
                max_run_age_hours=form.cleaned_data["max_run_age_hours"],
                requested_by=request.user.get_username(),
            )
        except ValidationError as error:
            for field, reasons in error.message_dict.items():
                form.add_error(field if field in form.fields else None, reasons)
        else:
            messages.success(request, f"Coverage backtest #{backtest.pk} queued; it appears below when done.")
            return redirect(reverse("monitoring:liquidations") + "#backtest")
    return _page(request, filter_form=LiquidationFilterForm(None), backtest_form=form, status=400)
