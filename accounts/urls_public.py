from django.urls import path

from accounts import views_public

urlpatterns = [
    path("", views_public.landing, name="landing"),
    path("pricing/", views_public.pricing, name="pricing"),
    path("workspaces/", views_public.workspace_list, name="workspace_home"),
    path("workspaces/new/", views_public.workspace_create, name="workspace_create"),
    path("workspaces/new/address/", views_public.slug_suggestion, name="workspace_slug_suggestion"),
    path("workspaces/<slug:slug>/open/", views_public.workspace_open, name="workspace_open"),
    path("invitations/<str:token>/", views_public.invitation_accept, name="invitation_accept"),
]
