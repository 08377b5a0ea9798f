"""Governance notification pages: subscribe by e-mail (double opt-in) or webhook, confirm, unsubscribe/manage.

The confirmation and unsubscribe links work without signing in: their signed token is the credential. The
unsubscribe link takes a POST from the page's button or a mail client's one-click (RFC 8058), so it is exempt
from CSRF, like any link-credential endpoint.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from riskgov.core.ratelimit import rate_limited
from riskgov.governance.models import NotificationEvent
from riskgov.governance.models.notifications import SUBSCRIBABLE_EVENTS
from riskgov.governance.services.notifications import (
    SubscriptionRejected,
    notification_email_subscribe,
    notification_subscription_confirm,
    notification_unsubscribe,
    notification_webhook_subscribe,
    subscriber_by_unsubscribe_token,
)
from riskgov.governance.views.auth import session_address

EVENT_CHOICES = [(event.value, event.label) for event in SUBSCRIBABLE_EVENTS]
WEBHOOK_EVENT_CHOICES = [choice for choice in EVENT_CHOICES if choice[0] != NotificationEvent.VOTING_ENDS_SOON]


class EmailSubscribeForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=[value for value, _ in EVENT_CHOICES],
    )


class WebhookSubscribeForm(forms.Form):
    url = forms.CharField(label="Webhook URL", max_length=500)
    events = forms.MultipleChoiceField(
        choices=WEBHOOK_EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=[value for value, _ in WEBHOOK_EVENT_CHOICES],
    )


def _actor(request: HttpRequest) -> str | None:
    if request.user.is_authenticated:
        return request.user.get_username()
    return session_address(request)


def _page(request: HttpRequest, *, status: int = 200, **context: object) -> HttpResponse:
    base = {
        "email_form": EmailSubscribeForm(prefix="email"),
        "webhook_form": WebhookSubscribeForm(prefix="webhook"),
        "address": session_address(request),
        "can_add_webhook": _actor(request) is not None,
    }
    return render(request, "governance/notifications.html", {**base, **context}, status=status)


def _reject(form: forms.Form, error: SubscriptionRejected) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _posted_target(request: HttpRequest) -> str | None:
    return request.POST.get("webhook-url") or request.POST.get("email-email") or None


@require_http_methods(["GET", "POST"])
@rate_limited("subscribe", subject=_posted_target)
def notifications_subscribe(request: HttpRequest) -> HttpResponse:
    """GET: the forms. POST `channel=email` subscribes an address (a confirmation mail is sent), `channel=webhook`
    registers a URL (signed in only) and shows its secret once. Bad input answers 400 with the field's error."""
    if request.method == "GET":
        return _page(request)
    if request.POST.get("channel") == "webhook":
        return _webhook_subscribe(request)
    form = EmailSubscribeForm(request.POST, prefix="email")
    if form.is_valid():
        try:
            subscriber = notification_email_subscribe(
                email=form.cleaned_data["email"],
                events=form.cleaned_data["events"],
                address=session_address(request),
                created_by=_actor(request) or "anonymous",
            )
        except SubscriptionRejected as error:
            _reject(form, error)
        else:
            return _page(request, email_pending=subscriber)
    return _page(request, status=400, email_form=form)


def _webhook_subscribe(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = WebhookSubscribeForm(request.POST, prefix="webhook")
    if actor is None:
        form.add_error(None, "Sign in (with your wallet or an account) to register a webhook.")
        return _page(request, status=403, webhook_form=form)
    if form.is_valid():
        try:
            created = notification_webhook_subscribe(
                url=form.cleaned_data["url"], events=form.cleaned_data["events"], created_by=actor
            )
        except SubscriptionRejected as error:
            _reject(form, error)
        else:
            return render(request, "governance/notifications_webhook_created.html", {"created": created}, status=201)
    return _page(request, status=400, webhook_form=form)


@require_GET
def notifications_confirm(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = notification_subscription_confirm(token=token)
    return render(
        request, "governance/notifications_confirm.html", {"subscriber": subscriber}, status=200 if subscriber else 404
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def notifications_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the subscription (a webhook's management page) and a button; POST unsubscribes."""
    subscriber = subscriber_by_unsubscribe_token(token=token)
    if subscriber is None:
        return render(request, "governance/notifications_unsubscribe.html", {"subscriber": None}, status=404)
    done = False
    if request.method == "POST":
        actor = request.user.get_username() if request.user.is_authenticated else f"unsubscribe-link:{subscriber}"
        subscriber = notification_unsubscribe(subscriber=subscriber, actor=actor)
        done = True
    events = [NotificationEvent(event).label for event in subscriber.events]
    return render(
        request,
        "governance/notifications_unsubscribe.html",
        {"subscriber": subscriber, "token": token, "done": done, "events": events},
    )
