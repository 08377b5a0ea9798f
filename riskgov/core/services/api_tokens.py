"""API tokens for machine clients: one per user, created (replacing the old one) or revoked by its user or an
admin. A token acts as its user, with exactly that user's permissions; its key never enters the audit log."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.authtoken.models import Token

from riskgov.core.errors import DomainError
from riskgov.core.models import AuditAction
from riskgov.core.services.audit import audit_record


def api_token_create(*, user: User, actor: str) -> Token:
    """A new token for `user`; an existing one stops working at once. Refused for an inactive user."""
    if not user.is_active:
        raise DomainError(f"{user.get_username()} is inactive: a token would not sign in.", code="user_inactive")
    with transaction.atomic():
        replaced = Token.objects.filter(user=user).delete()[0] > 0
        token = Token.objects.create(user=user)
        audit_record(action=AuditAction.API_TOKEN_CREATED, subject=user, actor=actor, data={"replaced": replaced})
    return token


def api_token_revoke(*, user: User, actor: str) -> bool:
    """Delete `user`'s token; False when there was none."""
    with transaction.atomic():
        deleted = Token.objects.filter(user=user).delete()[0] > 0
        if deleted:
            audit_record(action=AuditAction.API_TOKEN_REVOKED, subject=user, actor=actor)
    return deleted
