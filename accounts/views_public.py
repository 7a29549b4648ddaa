"""Pages of the public site: landing, pricing, workspace chooser and creation, invitations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts import services
from accounts.forms import WorkspaceForm, number_format_for
from accounts.models import Workspace
from accounts.selectors import workspace_url, workspaces_for_user
from billing.plans import ENTITLEMENTS, Plan


def _handoff_redirect(request: HttpRequest, workspace: Workspace, next_path: str = "/") -> HttpResponseRedirect:
    token = services.handoff_create(user=request.user, workspace=workspace, next_path=next_path)  # type: ignore[arg-type]
    return HttpResponseRedirect(
        workspace_url(workspace=workspace, path=f"/auth/handoff/?token={token}", request=request)
    )


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    # The sources named are the connectors' own list ({% connectable_platforms %} in the template).
    return render(request, "public/landing.html")


@require_GET
def pricing(request: HttpRequest) -> HttpResponse:
    plans = [(plan, ENTITLEMENTS[plan]) for plan in Plan if plan != Plan.TRIAL]
    return render(request, "public/pricing.html", {"plans": plans})


@login_required
@require_GET
def workspace_list(request: HttpRequest) -> HttpResponse:
    workspaces = workspaces_for_user(user=request.user)  # type: ignore[arg-type]
    if not workspaces.exists():
        return HttpResponseRedirect(reverse("workspace_create"))
    return render(request, "public/workspace_list.html", {"workspaces": workspaces})


@login_required
@require_http_methods(["GET", "POST"])
def workspace_create(request: HttpRequest) -> HttpResponse:
    guess = number_format_for(request.headers.get("Accept-Language", ""))
    form = WorkspaceForm(request.POST or None, initial={"number_format": guess})
    if request.method == "POST" and form.is_valid():
        try:
            workspace = services.workspace_create(owner=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except services.AccountsError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return _handoff_redirect(request, workspace)
    return render(request, "public/workspace_create.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_GET
def workspace_open(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = get_object_or_404(workspaces_for_user(user=request.user), slug=slug)  # type: ignore[arg-type]
    return _handoff_redirect(request, workspace)


@require_GET
def slug_suggestion(request: HttpRequest) -> HttpResponse:
    """HTMX: suggest an address from the name and say whether it is free."""
    slug = request.GET.get("slug") or services.slug_from_name(request.GET.get("name", ""))
    error = None
    if slug:
        try:
            services.validate_slug(slug)
        except services.AccountsError as exc:
            error = exc.message
    return render(request, "public/workspace_create.html#slug-status", {"slug": slug, "slug_error": error})


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_lookup(token=token)
    except services.AccountsError as exc:
        return render(request, "public/invitation.html", {"error": exc.message}, status=410)
    if not request.user.is_authenticated:
        return render(request, "public/invitation.html", {"invitation": invitation, "token": token})
    if request.method == "POST":
        try:
            membership = services.invitation_accept(token=token, user=request.user)  # type: ignore[arg-type]
        except services.AccountsError as exc:
            return render(
                request, "public/invitation.html", {"invitation": invitation, "error": exc.message}, status=403
            )
        messages.success(request, f"You joined {membership.workspace.name}.")
        return _handoff_redirect(request, membership.workspace)
    return render(request, "public/invitation.html", {"invitation": invitation, "token": token})
