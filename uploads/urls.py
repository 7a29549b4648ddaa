"""File upload pages under /data-sources/uploads/ on a workspace host."""

from django.urls import path

from uploads import views

app_name = "uploads"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/mapping/", views.mapping, name="mapping"),
    path("<int:pk>/accept/", views.accept, name="accept"),
    path("<int:pk>/discard/", views.discard, name="discard"),
    path("<int:pk>/restart/", views.restart, name="restart"),
    path("<int:pk>/skipped.csv", views.skipped, name="skipped"),
]
