from django.contrib import admin

from qualification.models import FlowVersion, Lead
from tenancy.admin import UnscopedAdmin


@admin.register(Lead)
class LeadAdmin(UnscopedAdmin):
    list_display = ("id", "agency", "status", "score", "sector", "created")
    list_filter = ("status", "sector")
    exclude = ("answers",)


@admin.register(FlowVersion)
class FlowVersionAdmin(UnscopedAdmin):
    list_display = ("flow", "number", "status", "agency", "published_at")
