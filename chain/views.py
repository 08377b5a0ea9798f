from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from chain.selectors.status import indexer_status
from riskgov.core.models import Permission
from riskgov.core.permissions import permission_required


@permission_required(Permission.VIEW_STAFF_PAGES)
@require_GET
def status(request: HttpRequest) -> HttpResponse:
    return render(request, "chain/status.html", {"status": indexer_status()})
