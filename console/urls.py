from django.urls import path, re_path

from console import views

urlpatterns = [
    path("", views.console_asset, name="console"),
    re_path(r"^(?P<path>.+)$", views.console_asset),
]
