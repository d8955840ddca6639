from django.urls import path

from chat import api as chat_api
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
]
