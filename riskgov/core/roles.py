"""The roles of the application, defined once: Django groups holding named permissions.

A role is a set of named permissions (``riskgov.core.models.Permission``) plus the model permissions the admin
needs to show and edit what that role manages. ``roles_sync`` makes each group hold exactly its set; it runs
after every ``migrate`` (``CoreConfig.ready`` connects it to ``post_migrate``) and is idempotent. A superuser
holds every permission without a group.

The admin also asks for ``is_staff`` to let an account in at all: give it to accounts that use the admin.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group
from django.contrib.auth.models import Permission as AuthPermission
from django.db import models, transaction
from django.db.models import Q

from riskgov.core.models import Permission

# The project's apps whose rows a role may read in the admin.
PROJECT_APP_LABELS = ("core", "markets", "governance", "monitoring", "reports", "insurance", "chain")


class Role(models.TextChoices):
    """Each member's value is its group's name."""

    VIEWER = "Viewer", "sees the staff pages and reads everything in the admin"
    RISK_STEWARD = "Risk steward", "changes parameters inside the steward bounds, decides recommendations"
    GUARDIAN = "Guardian", "vetoes and cancels proposals; queues and executes them in off-chain mode"
    REPORT_MANAGER = "Report manager", "generates reports and manages schedules and subscriptions"


VIEWER_PERMISSIONS = frozenset({Permission.VIEW_STAFF_PAGES})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: VIEWER_PERMISSIONS,
    Role.RISK_STEWARD: VIEWER_PERMISSIONS
    | {
        Permission.CHANGE_PARAMETERS,
        Permission.DECIDE_RECOMMENDATION,
        Permission.MANAGE_MARGIN_POLICY,
        Permission.IMPORT_DATA,
        Permission.TAKE_SNAPSHOT,
        Permission.MANAGE_COVERAGE_RUNS,
        Permission.ACKNOWLEDGE_ALERT,
        Permission.MANAGE_ALERT_RULES,
    },
    Role.GUARDIAN: VIEWER_PERMISSIONS
    | {
        Permission.VETO_PROPOSAL,
        Permission.CANCEL_PROPOSAL,
        Permission.QUEUE_PROPOSAL,
        Permission.EXECUTE_PROPOSAL,
    },
    Role.REPORT_MANAGER: VIEWER_PERMISSIONS | {Permission.MANAGE_REPORTS},
}

# Model permissions ("app_label.codename") beyond viewing: what each role edits by hand in the admin.
ROLE_MODEL_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.VIEWER: frozenset(),
    Role.RISK_STEWARD: frozenset(
        {
            "monitoring.add_alertrule",
            "monitoring.change_alertrule",
            "monitoring.delete_alertrule",
            "monitoring.add_pricefeed",
            "monitoring.change_pricefeed",
            "monitoring.delete_pricefeed",
        }
    ),
    Role.GUARDIAN: frozenset(),
    Role.REPORT_MANAGER: frozenset(
        {
            "reports.add_reportschedule",
            "reports.change_reportschedule",
            "reports.delete_reportschedule",
            "reports.add_reportsubscription",
            "reports.change_reportsubscription",
            "reports.delete_reportsubscription",
        }
    ),
}


def role_permissions(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]


def _permission_rows(role: Role) -> Q:
    """The auth permission rows of `role`: its named permissions, its model permissions and every project view."""
    named = Q(content_type__app_label="core", codename__in=[p.value for p in ROLE_PERMISSIONS[role]])
    views = Q(content_type__app_label__in=PROJECT_APP_LABELS, codename__startswith="view_") & ~Q(
        content_type__app_label="core", codename__in=Permission.values
    )
    query = named | views
    for label in ROLE_MODEL_PERMISSIONS[role]:
        app_label, codename = label.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return query


def roles_sync(*, using: str = "default") -> dict[Role, int]:
    """Create or update every role's group so it holds exactly its permissions; returns how many each holds.

    Creates missing permission rows first, so it works whatever order the apps were migrated in.
    """
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    counts: dict[Role, int] = {}
    with transaction.atomic(using=using):
        for role in Role:
            group, _ = Group.objects.using(using).get_or_create(name=role.value)
            rows = list(AuthPermission.objects.using(using).filter(_permission_rows(role)).values_list("pk", flat=True))
            group.permissions.set(rows)
            counts[role] = len(rows)
    return counts


def roles_sync_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """``post_migrate`` receiver (for the core app): keeps the groups in step with the code after every ``migrate``."""
    roles_sync(using=using)


def role_assign(*, user: Any, roles: Iterable[Role]) -> None:
    """Make ``user`` a member of exactly the groups of ``roles`` (other groups are left alone)."""
    role_groups = Group.objects.filter(name__in=[role.value for role in Role])
    wanted = {role.value for role in roles}
    user.groups.remove(*[group for group in role_groups if group.name not in wanted])
    user.groups.add(*[group for group in role_groups if group.name in wanted])
