from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from riskgov.core.models import Permission
from riskgov.core.permissions import permission_required
from riskgov.markets.forms import ImportForm
from riskgov.markets.services.imports import ImportRejected, import_file


@permission_required(Permission.IMPORT_DATA)
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """Upload of a positions or prices file (import permission): row errors in a table, or the counts."""
    context: dict[str, object] = {}
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            context["filename"] = upload.name
            try:
                context["result"] = import_file(
                    kind=form.cleaned_data["kind"], content=upload.read(), fmt=form.cleaned_data["format"]
                )
                form = ImportForm(initial={"kind": form.cleaned_data["kind"]})
            except ImportRejected as error:
                context["rejected"] = error
                status = 400
        else:
            status = 400
    else:
        form = ImportForm()
    context["form"] = form
    return render(request, "riskgov/import.html", context, status=status)
