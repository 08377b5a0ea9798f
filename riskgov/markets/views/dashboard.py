from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from riskgov.core import dispatch
from riskgov.core.models import Permission
from riskgov.core.permissions import permission_required
from riskgov.markets.selectors.overview import dashboard_overview


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "riskgov/dashboard.html", {"dashboard": dashboard_overview()})


@permission_required(Permission.TAKE_SNAPSHOT)
@require_POST
def snapshot_run(request: HttpRequest) -> HttpResponse:
    dispatch.send_on_commit("riskgov.exposure_snapshot")
    messages.success(request, "Exposure snapshot queued; reload in a moment to see it.")
    return redirect("riskgov:dashboard")
