from django.urls import path

from accounts import views_workspace

urlpatterns = [
    path("auth/handoff/", views_workspace.handoff, name="handoff"),
    path("switch/<slug:slug>/", views_workspace.switch, name="workspace_switch"),
    path("settings/", views_workspace.workspace_settings, name="workspace_settings"),
    path("settings/team/", views_workspace.team, name="team"),
    path("settings/team/invite/", views_workspace.team_invite, name="team_invite"),
    path(
        "settings/team/invitations/<int:invitation_id>/revoke/",
        views_workspace.team_invitation_revoke,
        name="team_invitation_revoke",
    ),
    path("settings/team/members/<int:membership_id>/role/", views_workspace.team_member_role, name="team_member_role"),
    path(
        "settings/team/members/<int:membership_id>/remove/",
        views_workspace.team_member_remove,
        name="team_member_remove",
    ),
    path("settings/api-keys/", views_workspace.api_keys, name="api_keys"),
    path("settings/api-keys/new/", views_workspace.api_key_create, name="api_key_create"),
    path("settings/api-keys/<int:key_id>/revoke/", views_workspace.api_key_revoke, name="api_key_revoke"),
]
