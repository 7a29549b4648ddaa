"""File upload pages under /data-sources/uploads/ on a workspace host."""

from django.urls import path

from uploads import views

app_name = "uploads"

urlpatterns = [
    path("", views.index, name="upload_index"),
    path("<int:pk>/", views.detail, name="upload_detail"),
    path("<int:pk>/mapping/", views.mapping, name="upload_mapping"),
    path("<int:pk>/accept/", views.accept, name="upload_accept"),
    path("<int:pk>/discard/", views.discard, name="upload_discard"),
    path("<int:pk>/restart/", views.restart, name="upload_restart"),
    path("<int:pk>/skipped.csv", views.skipped, name="upload_skipped"),
]
