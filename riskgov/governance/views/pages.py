"""Governance pages: list, proposal (with HTMX tally), create form, and the lifecycle buttons."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from riskgov.core.models import Permission
from riskgov.core.permissions import granted_permissions, has_permission, permission_required
from riskgov.core.ratelimit import rate_limited
from riskgov.governance.errors import GovernanceError, ProposalRejected
from riskgov.governance.forms import ParameterChangeFormSet, ProposalForm, VoterQueryForm
from riskgov.governance.models import ImpactPreview, Proposal, ProposalState
from riskgov.governance.selectors.onchain import governance_mode
from riskgov.governance.selectors.onchain_page import onchain_page
from riskgov.governance.selectors.pages import (
    VOTER_SORT_LABELS,
    impact_preview_state,
    proposal_coverage_preview_state,
    proposal_page,
    proposal_tally_view,
    proposal_voters,
    proposal_voters_csv,
    proposal_voters_page,
)
from riskgov.governance.selectors.proposals import governance_activity, proposal_rows
from riskgov.governance.selectors.risk_budget import proposal_attestations
from riskgov.governance.services.execution import proposal_execute
from riskgov.governance.services.impact_preview import impact_preview_request, proposal_impact_preview_adopt
from riskgov.governance.services.proposals import (
    ChangeInput,
    governance_settings_get,
    proposal_cancel,
    proposal_create,
    proposal_queue,
    proposal_recount_record,
    proposal_veto,
)
from riskgov.governance.views.auth import session_address, wallet_context


@require_GET
def proposal_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state") or None
    if state not in ProposalState.values:
        state = None
    return render(
        request,
        "governance/proposal_list.html",
        {
            "rows": proposal_rows(state=state),
            "state": state,
            "states": ProposalState.choices,
            "activity": governance_activity(limit=15),
            "settings": governance_settings_get(),
            "governance_mode": governance_mode(),
            **wallet_context(request),
        },
    )


@require_GET
def proposal_detail(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = get_object_or_404(
        Proposal.objects.select_related("coverage_current", "coverage_proposed"), pk=proposal_id
    )
    page = proposal_page(proposal, viewer=session_address(request), granted=granted_permissions(request.user))
    return render(
        request,
        "governance/proposal_detail.html",
        {
            "page": page,
            "p": proposal,
            "risk_attestations": proposal_attestations(proposal),
            "onchain": onchain_page(proposal, page.state),
            **_voters_context(request, proposal),
            **wallet_context(request),
        },
    )


def _voters_context(request: HttpRequest, proposal: Proposal) -> dict[str, object]:
    query = VoterQueryForm(request.GET, sorts=VOTER_SORT_LABELS)
    search, sort, page_number = query.query()
    return {
        "voters": proposal_voters_page(proposal, sort=sort, search=search, page=page_number),
        "voter_query": query,
        "voter_search": search,
        "voter_sort": sort,
        "voter_sorts": VOTER_SORT_LABELS,
    }


@require_GET
def proposal_voters_fragment(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """The voters table (search, sort, page), swapped in by htmx; a full page without htmx."""
    proposal = get_object_or_404(Proposal, pk=proposal_id)
    if not request.headers.get("HX-Request"):
        return redirect(f"{proposal_url(proposal_id)}?{request.GET.urlencode()}#voters")
    return render(request, "governance/_voters.html", {"p": proposal, **_voters_context(request, proposal)})


@require_GET
def proposal_voters_export(request: HttpRequest, proposal_id: int) -> StreamingHttpResponse:
    """Every voter matching the search, in the chosen order, as CSV (streamed)."""
    proposal = get_object_or_404(Proposal, pk=proposal_id)
    search, sort, _ = VoterQueryForm(request.GET, sorts=VOTER_SORT_LABELS).query()
    votes = proposal_voters(proposal, sort=sort, search=search).iterator(chunk_size=500)
    response = StreamingHttpResponse(proposal_voters_csv(votes), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="proposal-{proposal.pk}-voters.csv"'
    return response


def proposal_url(proposal_id: int) -> str:
    return reverse("governance:proposal-detail", kwargs={"proposal_id": proposal_id})


@require_GET
def proposal_coverage_fragment(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """Polled by the proposal page while its coverage preview is queued or running; reloads the page when done."""
    proposal = get_object_or_404(
        Proposal.objects.select_related("coverage_current", "coverage_proposed"), pk=proposal_id
    )
    preview = proposal_coverage_preview_state(proposal)
    response = render(
        request, "governance/_coverage_preview.html", {"preview": preview, "p": proposal, "poll_url": request.path}
    )
    if not preview.pending:
        response["HX-Refresh"] = "true"
    return response


@require_GET
def proposal_tally_fragment(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal, pk=proposal_id)
    state, tally = proposal_tally_view(proposal)
    return render(request, "governance/_tally.html", {"state": state, "tv": tally, "p": proposal})


@require_http_methods(["GET", "POST"])
@rate_limited("proposal_create", subject=session_address)
def proposal_new(request: HttpRequest) -> HttpResponse:
    address = session_address(request)
    form = ProposalForm(request.POST or None)
    changes = ParameterChangeFormSet(request.POST or None, prefix="changes")
    if request.method == "POST" and form.is_valid() and changes.is_valid():
        rows = [c.cleaned_data for c in changes.forms if c.cleaned_data.get("market")]
        try:
            proposal = proposal_create(
                proposer=address or "",
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                discussion_url=form.cleaned_data.get("discussion_url") or "",
                changes=[ChangeInput(r["market"], r["field"], r["new_value"]) for r in rows],
            )
        except ProposalRejected as error:
            for field, errors in error.errors.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        except GovernanceError as error:
            form.add_error(None, error.message)
        else:
            preview_id = request.POST.get("impact_preview", "")
            if preview_id.isdigit():  # the coverage runs previewed on this form become the proposal's
                proposal_impact_preview_adopt(proposal_id=proposal.pk, preview_id=int(preview_id))
            messages.success(
                request,
                f"Proposal #{proposal.pk} created; voting opens {proposal.voting_starts_at:%Y-%m-%d %H:%M} UTC.",
            )
            return redirect("governance:proposal-detail", proposal_id=proposal.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "governance/proposal_new.html",
        {
            "form": form,
            "changes": changes,
            "address": address,
            "settings": governance_settings_get(),
            **wallet_context(request),
        },
        status=status,
    )


def _action(request: HttpRequest, proposal_id: int, done: str, call: object) -> HttpResponse:
    try:
        call()  # type: ignore[operator]
    except GovernanceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("governance:proposal-detail", proposal_id=proposal_id)


def _account_actor(request: HttpRequest) -> str:
    """Who acts through a permission: the linked or signed-in address, else the account's username."""
    return session_address(request) or request.user.get_username()


@require_POST
@rate_limited("impact_preview", subject=session_address)
def proposal_impact_preview_start(request: HttpRequest) -> HttpResponse:
    """From the create form: check the change rows and send their impact preview to the workers (htmx fragment)."""
    changes = ParameterChangeFormSet(request.POST, prefix="changes")
    errors: list[str] = []
    preview = None
    if not changes.is_valid():
        for index, row in enumerate(changes.forms):
            for field, messages_ in row.errors.items():
                where = f"row {index + 1}" + ("" if field == "__all__" else f" {field}")
                errors += [f"{where}: {m}" for m in messages_]
        errors += [str(e) for e in changes.non_form_errors()]
    else:
        rows = [c.cleaned_data for c in changes.forms if c.cleaned_data.get("market")]
        try:
            preview = impact_preview_request(
                requested_by=session_address(request) or "",
                changes=[ChangeInput(r["market"], r["field"], r["new_value"]) for r in rows],
            )
        except ProposalRejected as error:
            errors = [m for messages_ in error.errors.values() for m in messages_]
    if preview is None:
        return render(request, "governance/_impact_preview.html", {"errors": errors}, status=400)
    return render(request, "governance/_impact_preview.html", {"state": impact_preview_state(preview)}, status=202)


@require_GET
def proposal_impact_preview_fragment(request: HttpRequest, preview_id: int) -> HttpResponse:
    """Polled by the create form while the preview's figures or coverage runs are being computed."""
    preview = get_object_or_404(
        ImpactPreview.objects.select_related("coverage_current", "coverage_proposed"), pk=preview_id
    )
    return render(request, "governance/_impact_preview.html", {"state": impact_preview_state(preview)})


@require_http_methods(["GET", "POST"])
def proposal_cancel_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """The proposer (signed in with their wallet) before voting starts, or a guardian (the cancel permission).

    GET is the confirmation step (what canceling means), POST cancels.
    """
    if request.method == "GET":
        proposal = get_object_or_404(Proposal, pk=proposal_id)
        page = proposal_page(proposal, viewer=session_address(request), granted=granted_permissions(request.user))
        return render(request, "governance/proposal_cancel.html", {"page": page, "p": proposal})
    as_guardian = has_permission(request.user, Permission.CANCEL_PROPOSAL)
    actor = _account_actor(request) if as_guardian else session_address(request) or ""
    return _action(
        request,
        proposal_id,
        "Proposal canceled.",
        lambda: proposal_cancel(proposal_id=proposal_id, actor=actor, as_guardian=as_guardian),
    )


@permission_required(Permission.QUEUE_PROPOSAL)  # off-chain; the periodic task queues too
@require_POST
def proposal_queue_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    actor = _account_actor(request)
    return _action(
        request,
        proposal_id,
        "Proposal queued; the timelock has started.",
        lambda: proposal_queue(proposal_id=proposal_id, actor=actor),
    )


@permission_required(Permission.EXECUTE_PROPOSAL)  # off-chain; the periodic task executes too
@require_POST
def proposal_execute_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    actor = _account_actor(request)
    return _action(
        request,
        proposal_id,
        "Proposal executed: new parameters are in force and in the registry.",
        lambda: proposal_execute(proposal_id=proposal_id, actor=actor),
    )


@permission_required(Permission.VETO_PROPOSAL)
@require_POST
def proposal_veto_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    guardian = _account_actor(request)
    reason = request.POST.get("reason", "")
    return _action(
        request,
        proposal_id,
        "Proposal vetoed.",
        lambda: proposal_veto(proposal_id=proposal_id, guardian=guardian, reason=reason, as_guardian=True),
    )


@require_POST
@rate_limited("recount", subject=session_address)
def proposal_recount_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    get_object_or_404(Proposal, pk=proposal_id)
    actor = session_address(request) or (request.user.get_username() if request.user.is_authenticated else None)
    # an anonymous recount that matches leaves no audit row, so pressing the button cannot grow the trail
    recount = proposal_recount_record(proposal_id=proposal_id, actor=actor or "anonymous", audit_match=bool(actor))
    if recount.matches:
        messages.success(request, f"Recount of {recount.votes} signed votes matches the stored tally.")
    else:
        messages.error(request, "The recount does NOT match the stored tally; see the recount card.")
    return redirect("governance:proposal-detail", proposal_id=proposal_id)
