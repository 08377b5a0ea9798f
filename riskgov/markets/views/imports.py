from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from riskgov.markets.forms import ImportForm
from riskgov.markets.services.imports import ImportRejected, import_file


@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """Staff upload of a positions or prices file: row errors in a table, or the counts."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.is_staff:
        raise PermissionDenied("Only staff can import data.")
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
