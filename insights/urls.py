from django.urls import include, path

urlpatterns = [
    path("", include("insights.urls_dashboards")),
    path("insights/", include("insights.urls_models")),
]
