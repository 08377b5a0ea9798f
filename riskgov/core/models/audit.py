from django.db import models

from riskgov.core.models.fields import EnumCharField


class AuditAction(models.TextChoices):
    """Every kind of state change an audit record can describe; stored as its value."""

    DEMO_SEEDED = "demo.seeded", "demo protocol seeded"
    PARAMETERS_CHANGED = "parameters.changed", "margin parameters changed"
    PARAMETER_RULE_CHANGED = "parameter_rule.changed", "guardrail rule changed"
    PARAMETER_RULE_DELETED = "parameter_rule.deleted", "guardrail rule deleted"
    RISK_BUDGET_CHANGED = "risk_budget.changed", "risk budget changed"
    PARAMETER_CHANGE_REQUESTED = "parameter_change.requested", "parameter change awaiting attestation"
    PARAMETER_CHANGE_ATTESTED = "parameter_change.attested", "parameter change attested by a paired run"
    PARAMETER_CHANGE_REFUSED = "parameter_change.refused", "parameter change refused by its risk budget"
    SIWE_SIGN_IN = "auth.siwe_sign_in", "signed in with Ethereum"
    STAFF_ADDRESS_LINKED = "auth.staff_address_linked", "staff address linked"
    PROPOSAL_CREATED = "proposal.created", "proposal created"
    PROPOSAL_CANCELED = "proposal.canceled", "proposal canceled"
    PROPOSAL_QUEUED = "proposal.queued", "proposal queued"
    PROPOSAL_EXECUTED = "proposal.executed", "proposal executed"
    PROPOSAL_EXECUTION_FAILED = "proposal.execution_failed", "proposal execution failed"
    PROPOSAL_RECOUNTED = "proposal.recounted", "proposal recounted"
    PROPOSAL_STATE_CHANGED = "proposal.state_changed", "proposal state changed"
    PROPOSAL_VETOED = "proposal.vetoed", "proposal vetoed"
    PROPOSAL_VOTING_EXTENDED = "proposal.voting_extended", "proposal voting extended (late quorum)"
    DELEGATION_RELAY_SUBMITTED = "delegation.relay_submitted", "delegation signature submitted for relay"
    DELEGATION_RELAYED = "delegation.relayed", "delegation relay finished"
    DELEGATE_STATEMENT_PUBLISHED = "delegation.statement_published", "delegate statement published"
    MARGIN_POLICY_CHANGED = "margin_policy.changed", "margin policy changed"
    RECOMMENDATION_CREATED = "margin_recommendation.created", "margin recommendation created"
    RECOMMENDATION_APPLIED = "margin_recommendation.applied", "margin recommendation applied"
    RECOMMENDATION_DISMISSED = "margin_recommendation.dismissed", "margin recommendation dismissed"
    RECOMMENDATION_PROPOSED = "margin_recommendation.proposed", "margin recommendation proposed"
    REPORT_GENERATED = "exposure_report.generated", "exposure report generated"
    REPORT_SCHEDULE_DELETED = "report_schedule.deleted", "report schedule deleted"
    REPORT_SUBSCRIPTION_CREATED = "report_subscription.created", "report subscription created"
    REPORT_SUBSCRIPTION_DELETED = "report_subscription.deleted", "report subscription deleted"
    REPORT_SUBSCRIPTION_CONFIRMED = "report_subscription.confirmed", "report subscription confirmed"
    NOTIFICATION_SUBSCRIBED = "notification.subscribed", "governance notifications subscribed"
    NOTIFICATION_CONFIRMED = "notification.confirmed", "governance notifications confirmed"
    NOTIFICATION_UNSUBSCRIBED = "notification.unsubscribed", "governance notifications unsubscribed"
    FUND_CREATED = "insurance.fund_created", "insurance fund created"
    LEDGER_ENTRY = "insurance.ledger_entry", "insurance ledger entry"
    COVERAGE_RUN_CREATED = "insurance.coverage_run_created", "coverage run created"
    COVERAGE_RUN_CANCELLED = "insurance.coverage_run_cancelled", "coverage run cancelled"
    SCENARIO_SAVED = "insurance.scenario_saved", "stress scenario saved"
    ALERT_ACKNOWLEDGED = "alert.acknowledged", "alert acknowledged"
    ALERT_SNOOZED = "alert.snoozed", "alert snoozed"
    ALERT_RESOLVED = "alert.resolved", "alert resolved"
    API_TOKEN_CREATED = "api_token.created", "API token created"
    API_TOKEN_REVOKED = "api_token.revoked", "API token revoked"


class AuditRecord(models.Model):
    """An append-only record of a state change: who did what to which subject, and why."""

    action = EnumCharField(max_length=64, db_index=True, choices=AuditAction.choices)
    subject_type = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=64)
    actor = models.CharField(max_length=150)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "riskgov_auditrecord"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="audit_subject_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.subject_type}:{self.subject_id} by {self.actor}"
