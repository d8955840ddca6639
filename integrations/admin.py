from django.contrib import admin

from integrations.models import ClientifyConnection, CrmSync, WebhookDelivery, WebhookEndpoint
from tenancy.admin import UnscopedAdmin


@admin.register(ClientifyConnection)
class ClientifyConnectionAdmin(UnscopedAdmin):
    list_display = ("agency", "enabled", "breaker_state", "consecutive_failures", "last_success_at")
    # Secrets stay out of the admin: the agency manages them through the API.
    exclude = ("api_token", "inbound_secret")


@admin.register(CrmSync)
class CrmSyncAdmin(UnscopedAdmin):
    list_display = ("lead_id", "agency", "status", "contact_id", "attempts", "dead_lettered_at", "last_synced_at")
    list_filter = ("status",)
    exclude = ("email_sent",)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(UnscopedAdmin):
    list_display = ("url", "agency", "active", "created")
    exclude = ("secret", "previous_secret")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(UnscopedAdmin):
    list_display = ("event_id", "type", "agency", "status", "attempts", "response_code", "created")
    list_filter = ("status", "type")
    exclude = ("payload",)
