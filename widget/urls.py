from django.urls import path, re_path

from widget import views

urlpatterns = [
    path("v1/markezy.js", views.widget_script, name="widget-script"),
    re_path(r"^v1/markezy\.(?P<digest>[0-9a-f]{8,64})\.js$", views.widget_script_versioned, name="widget-script-versioned"),
    path("demo/", views.demo_page, name="widget-demo"),
    path("preview/", views.preview_page, name="widget-preview"),
    re_path(r"^logos/(?P<name>[0-9a-f]{64}\.(?:png|jpg|webp))$", views.agency_logo, name="widget-logo"),
]
