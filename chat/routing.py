from django.urls import path

from chat.consumers import LeadConsumer, MonitorConsumer

websocket_urlpatterns = [
    path("ws/v1/chat", LeadConsumer.as_asgi()),
    path("ws/v1/monitor", MonitorConsumer.as_asgi()),
]
