from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from riskgov.markets import tasks
from riskgov.markets.selectors.overview import dashboard_overview


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "riskgov/dashboard.html", {"dashboard": dashboard_overview()})


@require_POST
@staff_member_required
def snapshot_run(request: HttpRequest) -> HttpResponse:
    transaction.on_commit(tasks.exposure_snapshot.delay)
    messages.success(request, "Exposure snapshot queued; reload in a moment to see it.")
    return redirect("riskgov:dashboard")
