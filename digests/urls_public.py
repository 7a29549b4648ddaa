"""The public-site route of the digests: unsubscribe by signed link, no sign-in needed."""

from django.urls import path

from digests import views_public

urlpatterns = [
    path("digests/unsubscribe/<str:token>/", views_public.unsubscribe, name="digests_unsubscribe"),
]
