"""Support staff's view of every workspace and person (public site, staff only)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name

from accounts.models import Domain, Invitation, Membership, User, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ("domain", "is_primary")


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "plan", "status", "reporting_currency", "member_count", "created_at")
    list_filter = ("plan", "status", "reporting_currency")
    search_fields = ("name", "slug", "memberships__user__email")
    readonly_fields = ("schema_name", "slug", "created_at")
    fields = ("name", "slug", "schema_name", "plan", "status", "reporting_currency", "time_zone", "created_at")
    inlines = (DomainInline, MembershipInline)
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Workspace]:
        return (
            super()
            .get_queryset(request)
            .exclude(schema_name=get_public_schema_name())
            .annotate(_member_count=Count("memberships"))
        )

    @admin.display(description="Members", ordering="_member_count")
    def member_count(self, obj: Workspace) -> int:
        return obj._member_count  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Workspaces are created through the sign-up flow, which clones the template schema.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Workspace | None = None) -> bool:
        return False


class UserMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("workspace", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("workspace",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_staff", "is_active", "date_joined", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    inlines = (UserMembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "workspace__name", "workspace__slug")
    autocomplete_fields = ("user", "workspace")
    list_select_related = ("user", "workspace")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "workspace", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_filter = ("role",)
    search_fields = ("email", "workspace__name")
    list_select_related = ("workspace", "invited_by")
    readonly_fields = ("token_hash", "created_at", "accepted_at", "accepted_by", "invited_by")
