from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from chain.selectors.status import indexer_status


@require_GET
@staff_member_required
def status(request: HttpRequest) -> HttpResponse:
    return render(request, "chain/status.html", {"status": indexer_status()})
