from django.db import models


class Permission(models.TextChoices):
    """Every named permission of the application (app label ``core``): views, APIs and admin actions
    ask for one of these, and the roles (Django groups) are sets of them."""

    VIEW_STAFF_PAGES = "view_staff_pages", "see the staff pages and APIs (imports, chain status, deliveries)"
    CHANGE_PARAMETERS = "change_parameters", "change margin parameters inside the steward bounds"
    DECIDE_RECOMMENDATION = "decide_recommendation", "apply or dismiss a margin recommendation"
    MANAGE_MARGIN_POLICY = "manage_margin_policy", "change margin policies and run backtests"
    IMPORT_DATA = "import_data", "import positions and prices"
    TAKE_SNAPSHOT = "take_snapshot", "take an exposure snapshot now"
    MANAGE_COVERAGE_RUNS = "manage_coverage_runs", "create, cancel and make baseline coverage runs"
    ACKNOWLEDGE_ALERT = "acknowledge_alert", "acknowledge, snooze and resolve alerts"
    MANAGE_ALERT_RULES = "manage_alert_rules", "change alert rules and channels"
    VETO_PROPOSAL = "veto_proposal", "veto a proposal during its timelock"
    CANCEL_PROPOSAL = "cancel_proposal", "cancel a proposal"
    QUEUE_PROPOSAL = "queue_proposal", "queue a succeeded proposal (off-chain mode)"
    EXECUTE_PROPOSAL = "execute_proposal", "execute a queued proposal (off-chain mode)"
    MANAGE_REPORTS = "manage_reports", "generate reports and manage schedules and subscriptions"

    @property
    def perm(self) -> str:
        """The ``app_label.codename`` string ``User.has_perm`` takes."""
        return f"core.{self.value}"


class NamedPermissions(models.Model):
    """Carries the named permissions; it has no table and no rows."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [(value, str(label)) for value, label in Permission.choices]

    def __str__(self) -> str:
        return "named permissions"
