"""Admin of the shared audit trail: append-only, shown and never edited."""

from django.contrib import admin

from riskgov.core.admin_base import ReadOnlyAdmin
from riskgov.core.models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "subject_type", "subject_id", "actor")
    list_filter = ("action", "subject_type")
    search_fields = ("=subject_id", "actor", "action")
    date_hierarchy = "created_at"
    show_full_result_count = False
