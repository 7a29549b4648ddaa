"""Account pages on a workspace host: the host handoff, switching, workspace and team settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import InvitationForm, RoleForm, WorkspaceSettingsForm
from accounts.models import ApiKey, Membership
from accounts.roles import ASSIGNABLE_ROLES, Permission


@require_GET
def handoff(request: HttpRequest) -> HttpResponse:
    try:
        ticket = services.handoff_consume(token=request.GET.get("token", ""), workspace=request.tenant)  # type: ignore[attr-defined]
    except services.AccountsError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("account_login"))
    login(request, ticket.user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponseRedirect(ticket.next_path)


@login_required
@require_GET
def switch(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = get_object_or_404(selectors.workspaces_for_user(user=request.user), slug=slug)  # type: ignore[arg-type]
    token = services.handoff_create(user=request.user, workspace=workspace)  # type: ignore[arg-type]
    return HttpResponseRedirect(
        selectors.workspace_url(workspace=workspace, path=f"/auth/handoff/?token={token}", request=request)
    )


def _membership(request: HttpRequest) -> Membership:
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    return membership


@require_http_methods(["GET", "POST"])
def workspace_settings(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    workspace = request.tenant  # type: ignore[attr-defined]
    initial = {
        "name": workspace.name,
        "reporting_currency": workspace.reporting_currency,
        "time_zone": workspace.time_zone,
        "number_format": workspace.number_format,
    }
    form = WorkspaceSettingsForm(request.POST or None, initial=initial)
    can_edit = membership.can(Permission.MANAGE_WORKSPACE)
    if request.method == "POST":
        if not can_edit:
            return HttpResponse("Only owners and admins can change workspace settings.", status=403)
        if form.is_valid():
            try:
                services.workspace_update(workspace=workspace, actor_membership=membership, **form.cleaned_data)
            except services.AccountsError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                converting = form.cleaned_data["reporting_currency"] != initial["reporting_currency"]
                messages.success(
                    request,
                    f"Workspace settings saved. Amounts are being converted to {form.cleaned_data['reporting_currency']};"
                    " the dashboards say so until it is done."
                    if converting
                    else "Workspace settings saved.",
                )
                return HttpResponseRedirect(reverse("workspace_settings"))
    return render(
        request,
        "workspace/settings.html",
        {"form": form, "can_edit": can_edit, "section": "settings", "tab": "workspace"},
        status=400 if form.errors else 200,
    )


def _team_context(request: HttpRequest, membership: Membership, invite_form: InvitationForm | None = None) -> dict:
    workspace = request.tenant  # type: ignore[attr-defined]
    return {
        "section": "settings",
        "tab": "team",
        "members": selectors.memberships_for_workspace(workspace=workspace),
        "invitations": selectors.open_invitations_for_workspace(workspace=workspace),
        "invite_form": invite_form or InvitationForm(),
        "can_manage": membership.can(Permission.MANAGE_MEMBERS),
        "assignable_roles": ASSIGNABLE_ROLES.get(membership.role, ()),
    }


@require_GET
def team(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    return render(request, "workspace/team.html", _team_context(request, membership))


@require_POST
def team_invite(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation, _ = services.invitation_create(
                workspace=request.tenant,  # type: ignore[attr-defined]
                invited_by=membership,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                accept_url_for=lambda token: selectors.public_url(
                    path=reverse("invitation_accept", urlconf="bosco.urls_public", args=[token]), request=request
                ),
            )
        except services.AccountsError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return HttpResponseRedirect(reverse("team"))
    return render(request, "workspace/team.html", _team_context(request, membership, form), status=400)


@require_POST
def team_invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    membership = _membership(request)
    try:
        services.invitation_revoke(invitation_id=invitation_id, workspace=request.tenant, actor=membership)  # type: ignore[attr-defined]
    except services.AccountsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Invitation withdrawn.")
    return HttpResponseRedirect(reverse("team"))


@require_POST
def team_member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _membership(request)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return HttpResponseRedirect(reverse("team"))
    workspace = request.tenant  # type: ignore[attr-defined]
    try:
        changed = services.membership_change_role(
            membership_id=membership_id,
            workspace=workspace,
            actor=membership,
            role=form.cleaned_data["role"],
        )
    except services.AccountsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{changed.user.email} is now {changed.get_role_display().lower()}.")
    return HttpResponseRedirect(reverse("team"))


@require_POST
def team_member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _membership(request)
    try:
        services.membership_remove(membership_id=membership_id, workspace=request.tenant, actor=membership)  # type: ignore[attr-defined]
    except services.AccountsError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("team"))
    if membership_id == membership.pk:
        return HttpResponseRedirect(selectors.public_url(path="/workspaces/", request=request))
    messages.success(request, "Member removed.")
    return HttpResponseRedirect(reverse("team"))


@require_GET
def api_keys(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    return render(request, "workspace/api_keys.html", _api_keys_context(request, membership))


def _api_keys_context(request: HttpRequest, membership: Membership, **extra: object) -> dict:
    return {
        "section": "settings",
        "tab": "api_keys",
        "keys": selectors.api_keys_for_workspace(workspace=request.tenant),  # type: ignore[attr-defined]
        "can_manage": membership.can(Permission.MANAGE_API_KEYS),
        "scopes": ApiKey.Scope.choices,
        **extra,
    }


@require_POST
def api_key_create(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    try:
        key, raw = services.api_key_create(
            workspace=request.tenant,  # type: ignore[attr-defined]
            actor=membership,
            name=request.POST.get("name", ""),
            scope=request.POST.get("scope", ApiKey.Scope.READ),
        )
    except services.AccountsError as exc:
        return render(
            request, "workspace/api_keys.html", _api_keys_context(request, membership, error=exc.message), status=400
        )
    # The secret is shown on this response only; it is never stored.
    return render(
        request, "workspace/api_keys.html", _api_keys_context(request, membership, new_key=raw, new_key_obj=key)
    )


@require_POST
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    membership = _membership(request)
    try:
        services.api_key_revoke(key_id=key_id, workspace=request.tenant, actor=membership)  # type: ignore[attr-defined]
    except services.AccountsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "API key revoked. Requests using it now fail.")
    return HttpResponseRedirect(reverse("api_keys"))
