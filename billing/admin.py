"""Support's view of billing: each workspace's plan, status, trial end, Stripe ids and last webhook
events, with two actions — extend a trial, grant a plan without Stripe (comped) — that require a
reason and are recorded in the append-only BillingChange audit. Nothing here edits fields directly.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from billing import services
from billing.models import BillingAccount, BillingChange, StripeEvent
from billing.plans import PAID_PLANS, Plan


class StripeEventInline(admin.TabularInline):
    model = StripeEvent
    extra = 0
    max_num = 0
    fields = ("id", "type", "received_at", "processed_at", "outcome", "error")
    readonly_fields = fields
    ordering = ("-received_at",)
    can_delete = False
    verbose_name_plural = "Last webhook events"

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).order_by("-received_at")


class BillingChangeInline(admin.TabularInline):
    model = BillingChange
    extra = 0
    max_num = 0
    fields = ("created_at", "actor_email", "action", "reason", "before", "after")
    readonly_fields = fields
    can_delete = False


class ExtendTrialForm(forms.Form):
    trial_end = forms.DateTimeField(label="New trial end (UTC)", help_text="YYYY-MM-DD HH:MM")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), min_length=5)


class GrantPlanForm(forms.Form):
    plan = forms.ChoiceField(choices=[(p, Plan(p).label) for p in PAID_PLANS])
    until = forms.DateTimeField(label="Until (UTC, optional)", required=False, help_text="empty: until ended")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), min_length=5)


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = ("workspace", "plan", "status", "trial_end", "current_period_end", "stripe_customer_id")
    list_filter = ("status", "plan", "interval")
    search_fields = ("workspace__name", "workspace__slug", "stripe_customer_id", "stripe_subscription_id")
    readonly_fields = (
        "workspace",
        "plan",
        "interval",
        "status",
        "trial_end",
        "comped_until",
        "current_period_end",
        "cancel_at_period_end",
        "grace_until",
        "stripe_customer_id",
        "stripe_subscription_id",
        "last_event_created",
        "created_at",
        "updated_at",
    )
    inlines = (StripeEventInline, BillingChangeInline)
    change_form_template = "admin/billing/billingaccount/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are made with the workspace

    def has_delete_permission(self, request: HttpRequest, obj: BillingAccount | None = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/extend-trial/", wrap(self.extend_trial_view), name="billing_extend_trial"),
            path("<int:pk>/grant-plan/", wrap(self.grant_plan_view), name="billing_grant_plan"),
            *super().get_urls(),
        ]

    def _action_view(
        self, request: HttpRequest, pk: int, form_class: type[forms.Form], title: str, do: Any
    ) -> HttpResponse:
        if not self.has_change_permission(request):
            return HttpResponse("Support staff only.", status=403)
        account = get_object_or_404(BillingAccount.objects.select_related("workspace"), pk=pk)
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                do(account, form.cleaned_data)
            except services.BillingError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"{title}: done, recorded with your reason.")
                return HttpResponseRedirect(reverse("admin:billing_billingaccount_change", args=[pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title} — {account.workspace}",
            "form": form,
            "account": account,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/action_form.html", context, status=400 if form.errors else 200)

    def extend_trial_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        def do(account: BillingAccount, data: dict[str, Any]) -> None:
            services.trial_extend(
                account_id=account.pk, actor=request.user, until=data["trial_end"], reason=data["reason"]
            )

        return self._action_view(request, pk, ExtendTrialForm, "Extend trial", do)

    def grant_plan_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        def do(account: BillingAccount, data: dict[str, Any]) -> None:
            services.plan_grant(
                account_id=account.pk, actor=request.user, plan=data["plan"], until=data["until"], reason=data["reason"]
            )

        return self._action_view(request, pk, GrantPlanForm, "Grant plan (comped)", do)


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "account", "received_at", "processed_at", "attempts", "outcome")
    list_filter = ("type",)
    search_fields = ("id", "account__workspace__slug", "account__stripe_customer_id")
    readonly_fields = (
        "id",
        "type",
        "created",
        "account",
        "payload",
        "received_at",
        "processed_at",
        "attempts",
        "outcome",
        "error",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StripeEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StripeEvent | None = None) -> bool:
        return False


@admin.register(BillingChange)
class BillingChangeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "workspace_slug", "actor_email", "action", "reason")
    search_fields = ("workspace_slug", "actor_email", "reason")
    readonly_fields = (
        "account",
        "workspace_slug",
        "actor",
        "actor_email",
        "action",
        "reason",
        "before",
        "after",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: BillingChange | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: BillingChange | None = None) -> bool:
        return False
