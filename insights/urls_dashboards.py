from django.urls import path

from insights.views import dashboards

urlpatterns = [
    path("", dashboards.overview, name="workspace_home"),
]
