"""The API token page: a signed-in user sees whether they hold a token, creates a new one (shown once), or
revokes it. Tokens act with the user's own permissions (see ``riskgov.core.api``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from riskgov.core.services.api_tokens import api_token_create, api_token_revoke

TOKEN_ACTIONS = ("create", "revoke")


@login_required
@require_http_methods(["GET", "POST"])
def api_token_page(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {"new_key": None, "revoked": False, "error": ""}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        actor = request.user.get_username()
        if action == "create":
            context["new_key"] = api_token_create(user=request.user, actor=actor).key  # type: ignore[arg-type]
        elif action == "revoke":
            context["revoked"] = api_token_revoke(user=request.user, actor=actor)  # type: ignore[arg-type]
        else:
            context["error"] = f"action: choose one of {', '.join(TOKEN_ACTIONS)}."
            status = 400
    context["token"] = Token.objects.filter(user=request.user).first()  # type: ignore[misc]
    return render(request, "core/api_token.html", context, status=status)
