from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from riskgov.core.models import Permission
from riskgov.core.permissions import permission_required
from riskgov.core.ratelimit import body_limit
from riskgov.markets.forms import ImportForm
from riskgov.markets.models import ImportJob
from riskgov.markets.services.import_jobs import import_job_create, import_job_progress
from riskgov.markets.services.import_kinds import import_file_of_kind
from riskgov.markets.services.imports import ImportRejected


@body_limit("RISKGOV_IMPORT_MAX_BYTES")
@permission_required(Permission.IMPORT_DATA)
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """Upload of a positions, prices or liquidation-history file (import permission): row errors in a table, or
    the counts.

    A file over RISKGOV_IMPORT_INLINE_MAX_BYTES is imported by the workers: the answer is its job page.
    """
    context: dict[str, object] = {}
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > settings.RISKGOV_IMPORT_INLINE_MAX_BYTES:
                job = import_job_create(
                    kind=form.cleaned_data["kind"],
                    fmt=form.cleaned_data["format"],
                    upload=upload,
                    requested_by=request.user.get_username(),
                )
                return redirect("riskgov:import-job", job_id=job.pk)
            context["filename"] = upload.name
            try:
                context["result"] = import_file_of_kind(
                    kind=form.cleaned_data["kind"], content=upload.open("rb"), fmt=form.cleaned_data["format"]
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


@permission_required(Permission.IMPORT_DATA)
@require_GET
def import_job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """A large import's progress (polled by htmx while it runs), then its counts or its row errors."""
    job = get_object_or_404(ImportJob, pk=job_id)
    template = "riskgov/_import_job.html" if request.htmx else "riskgov/import_job.html"  # type: ignore[attr-defined]
    response = render(request, template, {"job": job, "progress": import_job_progress(job)})
    if request.htmx and not job.is_active:  # type: ignore[attr-defined]
        response["HX-Refresh"] = "true"
    return response
