from django.contrib import admin

from chat.models import Conversation
from tenancy.admin import UnscopedAdmin


@admin.register(Conversation)
class ConversationAdmin(UnscopedAdmin):
    list_display = ("id", "agency", "status", "step", "owner_kind", "created", "updated")
    list_filter = ("status", "owner_kind")
    readonly_fields = ("last_seq",)
