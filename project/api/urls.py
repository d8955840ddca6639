from django.urls import path

from analytics import api as analytics_api
from chat import api as chat_api
from integrations import api as integrations_api
from qualification import api as qualification_api
from strategy import api as strategy_api
from strategy.knowledge import api as knowledge_api
from tenancy import api as tenancy_api
from widget import views as widget_views

urlpatterns = [
    path("widget/sessions", chat_api.WidgetSessionApi.as_view()),
    path("widget/wordpress-plugin.zip", widget_views.WordPressPluginApi.as_view()),
    path("conversations/", chat_api.ConversationListApi.as_view()),
    path("conversations/<str:conversation_id>/", chat_api.ConversationDetailApi.as_view()),
    path("leads/", qualification_api.LeadListApi.as_view()),
    path("leads/<str:lead_id>/", qualification_api.LeadDetailApi.as_view()),
    path("leads/<str:lead_id>/events/", qualification_api.LeadEventsApi.as_view()),
    path("leads/<str:lead_id>/export/", qualification_api.LeadExportApi.as_view()),
    path("strategies/<str:strategy_id>/", strategy_api.StrategyDetailApi.as_view()),
    path("strategies/<str:strategy_id>/pdf", strategy_api.StrategyPdfApi.as_view()),
    path("analytics/funnel", analytics_api.FunnelApi.as_view()),
    path("analytics/quality", analytics_api.QualityApi.as_view()),
    path("analytics/usage", analytics_api.UsageApi.as_view()),
    path("leads/<str:lead_id>/resync/", integrations_api.LeadResyncApi.as_view()),
    path("integrations/clientify/", integrations_api.ClientifyIntegrationApi.as_view()),
    path("integrations/clientify/test", integrations_api.ClientifyTestApi.as_view()),
    path("integrations/clientify/dead-letters/", integrations_api.ClientifyDeadLettersApi.as_view()),
    path("webhooks/", integrations_api.WebhookListApi.as_view()),
    path("webhooks/clientify/<str:secret>", integrations_api.ClientifyInboundApi.as_view()),
    path("webhooks/<str:endpoint_id>/", integrations_api.WebhookDetailApi.as_view()),
    path("webhooks/<str:endpoint_id>/rotate-secret/", integrations_api.WebhookRotateSecretApi.as_view()),
    path("webhooks/<str:endpoint_id>/deliveries/", integrations_api.WebhookDeliveriesApi.as_view()),
    path("webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/replay/",
         integrations_api.WebhookDeliveryReplayApi.as_view()),
    path("knowledge/documents/", knowledge_api.KnowledgeDocumentListApi.as_view()),
    path("knowledge/documents/<str:document_id>/", knowledge_api.KnowledgeDocumentDetailApi.as_view()),
    path("knowledge/search", knowledge_api.KnowledgeSearchApi.as_view()),
    path("audit/", tenancy_api.AuditLogApi.as_view()),
    path("auth/token", tenancy_api.TokenObtainApi.as_view()),
    path("auth/refresh", tenancy_api.TokenRefreshApi.as_view()),
    path("auth/logout", tenancy_api.LogoutApi.as_view()),
    path("me", tenancy_api.MeApi.as_view()),
    path("widget-keys/", tenancy_api.WidgetKeyListApi.as_view()),
    path("widget-keys/<str:key_id>/", tenancy_api.WidgetKeyDetailApi.as_view()),
    path("origins/", tenancy_api.OriginListApi.as_view()),
    path("origins/<str:origin_id>/", tenancy_api.OriginDetailApi.as_view()),
    path("agencies/", tenancy_api.SignupApi.as_view()),
    path("agency/", tenancy_api.AgencyApi.as_view()),
    path("agency/onboarding", tenancy_api.OnboardingApi.as_view()),
    path("members/", tenancy_api.MemberListApi.as_view()),
    path("members/invitations/<str:invitation_id>/", tenancy_api.InvitationDetailApi.as_view()),
    path("members/<str:membership_id>/", tenancy_api.MemberDetailApi.as_view()),
    path("invitations/<str:token>/", tenancy_api.InvitationPreviewApi.as_view()),
    path("invitations/<str:token>/accept", tenancy_api.InvitationAcceptApi.as_view()),
    path("flows/", qualification_api.FlowListApi.as_view()),
    path("flows/drafts/", qualification_api.FlowDraftCreateApi.as_view()),
    path("flows/versions/<str:version_id>/", qualification_api.FlowVersionDetailApi.as_view()),
    path("flows/versions/<str:version_id>/publish/", qualification_api.FlowVersionPublishApi.as_view()),
    path("flows/versions/<str:version_id>/diff/", qualification_api.FlowVersionDiffApi.as_view()),
    path("flows/versions/<str:version_id>/preview/", qualification_api.FlowVersionPreviewApi.as_view()),
]
