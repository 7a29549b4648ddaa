"""The support console in the Django admin (public host, staff with a second factor).

- Workspace health: one list over every workspace, read from the `WorkspaceHealth` summaries
  (one query for the page, whatever the number of workspaces), with an "anything wrong" filter.
- A workspace's page: its runs with their error messages (read live from its schema), members,
  exports, impersonations and audit log, and the actions — each a form that requires a reason and
  goes through `support.services` (or billing's services), which write the audit entry.
- The audit log: viewable, never editable or deletable here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import Workspace
from accounts.selectors import memberships_for_workspace, workspace_url
from billing import services as billing_services
from billing.admin import ExtendTrialForm, GrantPlanForm
from billing.selectors import account_for_schema
from support import selectors, services
from support.models import AuditEntry, WorkspaceHealth

EMPTY = "—"
BILLING_TROUBLE = ("past_due", "unpaid", "canceled", "incomplete_expired")


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else EMPTY


class AnythingWrongFilter(admin.SimpleListFilter):
    title = "anything wrong"
    parameter_name = "wrong"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Anything wrong"), ("no", "All well")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[WorkspaceHealth]) -> QuerySet[WorkspaceHealth]:
        # Billing trouble is read live (a webhook changes it at once); the rest from the summary.
        wrong = Q(anything_wrong=True) | Q(workspace__billing__status__in=BILLING_TROUBLE)
        if self.value() == "yes":
            return queryset.filter(wrong)
        if self.value() == "no":
            return queryset.exclude(wrong)
        return queryset


def _titled(title: str) -> type[admin.ChoicesFieldListFilter]:
    """A choices filter with its own title (two related fields are both called "status")."""

    class Titled(admin.ChoicesFieldListFilter):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.title = title

    return Titled


# --------------------------------------------------------------------------- action forms


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), min_length=5, help_text="Recorded in the audit log."
    )

    def __init__(self, *args: Any, workspace: Workspace, runs: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.runs = runs


class ConnectionForm(ReasonForm):
    connection = forms.TypedChoiceField(coerce=int)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["connection"].choices = [
            (c.pk, f"#{c.pk} {c.get_platform_display()} {c.label} ({c.get_status_display()})")
            for c in self.runs.connections
        ]
        self.order_fields(["connection"])


class ResyncForm(ConnectionForm):
    date_from = forms.DateField(required=False, help_text="Empty: sync now. A day: every day from it is read again.")
    date_to = forms.DateField(required=False, help_text="Empty: today. The sync reads up to today in any case.")


class RetryForm(ReasonForm):
    run = forms.TypedChoiceField(coerce=int, label="Failed run")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["run"].choices = [
            (r.pk, f"#{r.pk} {r.connection} — {r.error_message[:80] or r.note[:80]}")
            for r in self.runs.sync_runs
            if r.status in ("failed", "cancelled")
        ]
        self.order_fields(["run"])


class ImpersonateForm(ReasonForm):
    member = forms.TypedChoiceField(coerce=int)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [
            (m.user_id, f"{m.user.email} ({m.get_role_display()})")
            for m in memberships_for_workspace(workspace=self.workspace)
        ]
        self.order_fields(["member"])


class MemberForm(ReasonForm):
    member = forms.TypedChoiceField(coerce=int)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [
            (m.user_id, f"{m.user.email} ({m.get_role_display()})")
            for m in memberships_for_workspace(workspace=self.workspace)
        ]
        self.order_fields(["member"])


class DeleteForm(ReasonForm):
    confirm = forms.CharField(label="Type the workspace's slug to confirm")

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != self.workspace.slug:
            raise forms.ValidationError("That is not this workspace's slug.")
        return value


class _BillingForm(ReasonForm):
    """Billing's own forms (extend trial, grant plan), with the support form's signature."""


class ExtendTrial(_BillingForm, ExtendTrialForm):
    pass


class GrantPlan(_BillingForm, GrantPlanForm):
    pass


def _account_id(workspace: Workspace) -> int:
    account = account_for_schema(workspace.schema_name)
    if account is None:
        raise services.SupportError("This workspace has no billing account.")
    return account.pk


ACTIONS: dict[str, tuple[str, type[ReasonForm], Any]] = {
    # name: (title, form, do(request, workspace, data) -> message or a redirect)
    "resync": (
        "Resync a connection or a range of days",
        ResyncForm,
        lambda r, w, d: services.connection_resync(
            actor=r.user,
            workspace=w,
            connection_id=d["connection"],
            reason=d["reason"],
            date_from=d["date_from"],
            date_to=d["date_to"],
        ),
    ),
    "retry": (
        "Retry a failed run",
        RetryForm,
        lambda r, w, d: services.run_retry(actor=r.user, workspace=w, run_id=d["run"], reason=d["reason"]),
    ),
    "pause": (
        "Pause a connection",
        ConnectionForm,
        lambda r, w, d: services.connection_pause(
            actor=r.user, workspace=w, connection_id=d["connection"], reason=d["reason"]
        ),
    ),
    "extend_trial": (
        "Extend the trial",
        ExtendTrial,
        lambda r, w, d: billing_services.trial_extend(
            account_id=_account_id(w), actor=r.user, until=d["trial_end"], reason=d["reason"]
        ),
    ),
    "grant_plan": (
        "Grant a plan (comped)",
        GrantPlan,
        lambda r, w, d: billing_services.plan_grant(
            account_id=_account_id(w), actor=r.user, plan=d["plan"], until=d["until"], reason=d["reason"]
        ),
    ),
    "impersonate": ("Impersonate a member (read-only)", ImpersonateForm, None),
    "resend_digest": (
        "Resend a member's digest",
        MemberForm,
        lambda r, w, d: services.digest_resend(actor=r.user, workspace=w, member_id=d["member"], reason=d["reason"]),
    ),
    "suspend": (
        "Suspend the workspace",
        ReasonForm,
        lambda r, w, d: services.workspace_suspend(actor=r.user, workspace=w, reason=d["reason"]),
    ),
    "reactivate": (
        "Reactivate the workspace",
        ReasonForm,
        lambda r, w, d: services.workspace_reactivate(actor=r.user, workspace=w, reason=d["reason"]),
    ),
    "export": (
        "Export the workspace's data",
        ReasonForm,
        lambda r, w, d: services.export_request(actor=r.user, workspace=w, reason=d["reason"]),
    ),
    "delete": (
        "Delete the workspace (after an export)",
        DeleteForm,
        lambda r, w, d: services.export_request(actor=r.user, workspace=w, reason=d["reason"], then_delete=True),
    ),
}


@admin.register(WorkspaceHealth)
class WorkspaceHealthAdmin(admin.ModelAdmin):
    list_display = (
        "workspace_link",
        "plan",
        "billing_status",
        "connections",
        "last_sync",
        "freshness",
        "data_test_failures",
        "quarantined_rows",
        "last_scoring",
        "last_digest",
        "problem_list",
    )
    list_filter = (
        AnythingWrongFilter,
        ("workspace__status", _titled("workspace status")),
        ("workspace__billing__status", _titled("billing status")),
        ("workspace__billing__plan", _titled("plan")),
    )
    list_select_related = ("workspace", "workspace__billing")
    search_fields = ("workspace__name", "workspace__slug")
    ordering = ("-anything_wrong", "workspace__name")
    list_per_page = 100
    actions = ("refresh",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the summaries are written by workers; actions have their own forms

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Workspace", ordering="workspace__name")
    def workspace_link(self, obj: WorkspaceHealth) -> str:
        url = reverse("admin:support_workspace", args=[obj.workspace_id])
        return format_html(
            '<a href="{}">{}</a> <span class="quiet">{}</span>', url, obj.workspace.name, obj.workspace.slug
        )

    @admin.display(description="Plan", ordering="workspace__billing__plan")
    def plan(self, obj: WorkspaceHealth) -> str:
        account = getattr(obj.workspace, "billing", None)
        return account.get_plan_display() if account else obj.workspace.get_plan_display()

    @admin.display(description="Billing", ordering="workspace__billing__status")
    def billing_status(self, obj: WorkspaceHealth) -> str:
        account = getattr(obj.workspace, "billing", None)
        status = account.get_status_display() if account else EMPTY
        return f"{status} (suspended)" if obj.workspace.status == Workspace.Status.SUSPENDED else status

    @admin.display(description="Connections")
    def connections(self, obj: WorkspaceHealth) -> str:
        return (
            f"{obj.connections_active} active · {obj.connections_failing} failing · "
            f"{obj.connections_needs_reauth} reauth · {obj.connections_paused} paused"
        )

    @admin.display(description="Last successful sync", ordering="last_success_at")
    def last_sync(self, obj: WorkspaceHealth) -> str:
        return _when(obj.last_success_at)

    @admin.display(description="Data through", ordering="newest_day")
    def freshness(self, obj: WorkspaceHealth) -> str:
        return obj.newest_day.isoformat() if obj.newest_day else EMPTY

    @admin.display(description="Last scoring", ordering="last_scoring_at")
    def last_scoring(self, obj: WorkspaceHealth) -> str:
        return _when(obj.last_scoring_at)

    @admin.display(description="Last digest", ordering="last_digest_at")
    def last_digest(self, obj: WorkspaceHealth) -> str:
        return _when(obj.last_digest_at)

    @admin.display(description="Problems")
    def problem_list(self, obj: WorkspaceHealth) -> str:
        return "; ".join(obj.problems) if obj.problems else "none"

    @admin.action(description="Refresh the health of the selected workspaces")
    def refresh(self, request: HttpRequest, queryset: QuerySet[WorkspaceHealth]) -> None:
        from support.tasks import refresh_health  # the admin is a composition point; services never import tasks

        for schema in queryset.values_list("workspace__schema_name", flat=True):
            refresh_health.delay(schema)
        messages.info(request, "Refresh queued; reload in a moment.")

    # ------------------------------------------------------------------ a workspace's page

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("workspace/<int:workspace_id>/", wrap(self.workspace_view), name="support_workspace"),
            path("workspace/<int:workspace_id>/<str:action>/", wrap(self.action_view), name="support_action"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        health = get_object_or_404(WorkspaceHealth, pk=object_id)
        return HttpResponseRedirect(reverse("admin:support_workspace", args=[health.workspace_id]))

    def _workspace(self, workspace_id: int) -> Workspace:
        return get_object_or_404(Workspace.objects.exclude(schema_name="public"), pk=workspace_id)

    def workspace_view(self, request: HttpRequest, workspace_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse("Support staff only.", status=403)
        workspace = self._workspace(workspace_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{workspace.name} ({workspace.slug})",
            "opts": self.model._meta,
            "workspace": workspace,
            "account": account_for_schema(workspace.schema_name),
            "health": WorkspaceHealth.objects.filter(workspace=workspace).first(),
            "runs": selectors.workspace_runs(workspace=workspace),
            "members": memberships_for_workspace(workspace=workspace),
            "audit": selectors.audit_for_workspace(workspace=workspace),
            "exports": selectors.exports_for_workspace(workspace=workspace),
            "impersonations": selectors.impersonations_for_workspace(workspace=workspace),
            "actions": [(name, title) for name, (title, _, _) in ACTIONS.items()],
        }
        return TemplateResponse(request, "admin/support/workspace.html", context)

    def action_view(self, request: HttpRequest, workspace_id: int, action: str) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse("Support staff only.", status=403)
        if action not in ACTIONS:
            raise Http404("No such action")
        workspace = self._workspace(workspace_id)
        title, form_class, do = ACTIONS[action]
        runs = (
            selectors.workspace_runs(workspace=workspace)
            if form_class in (ConnectionForm, ResyncForm, RetryForm)
            else None
        )
        form = form_class(request.POST if request.method == "POST" else None, workspace=workspace, runs=runs)
        if request.method == "POST" and form.is_valid():
            try:
                if action == "impersonate":
                    _, token = services.impersonation_start(
                        actor=request.user,  # type: ignore[arg-type]
                        workspace=workspace,
                        member_id=form.cleaned_data["member"],
                        reason=form.cleaned_data["reason"],
                    )
                    url = workspace_url(
                        workspace=workspace, path=f"/auth/handoff/support/?token={token}", request=request
                    )
                    return HttpResponseRedirect(url)
                do(request, workspace, form.cleaned_data)
            except (services.SupportError, billing_services.BillingError) as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"{title}: done, recorded with your reason.")
                return HttpResponseRedirect(reverse("admin:support_workspace", args=[workspace.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title} — {workspace.name}",
            "opts": self.model._meta,
            "workspace": workspace,
            "form": form,
        }
        return TemplateResponse(request, "admin/support/action_form.html", context, status=400 if form.errors else 200)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log: who did what to which workspace, when and why. Read-only, append-only."""

    list_display = ("created_at", "workspace_slug", "actor_email", "action", "reason")
    list_filter = ("action",)
    search_fields = ("workspace_slug", "actor_email", "reason")
    readonly_fields = (
        "created_at",
        "workspace",
        "workspace_slug",
        "actor",
        "actor_email",
        "action",
        "reason",
        "detail",
    )
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
