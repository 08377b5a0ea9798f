from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from riskgov.core import dispatch
from riskgov.markets.selectors.overview import dashboard_overview


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "riskgov/dashboard.html", {"dashboard": dashboard_overview()})


@require_POST
@staff_member_required
def snapshot_run(request: HttpRequest) -> HttpResponse:
    dispatch.send_on_commit("riskgov.exposure_snapshot")
    messages.success(request, "Exposure snapshot queued; reload in a moment to see it.")
    return redirect("riskgov:dashboard")
