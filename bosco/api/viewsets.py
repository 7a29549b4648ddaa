"""The base every API endpoint extends. It owns authentication, permissions, throttling and
workspace scoping, so a new endpoint cannot forget them.

Workspace data lives in the workspace's own schema, which the request's host selects; the base
refuses to serve the public site (no workspace) and makes `get_queryset` final: subclasses
implement `workspace_queryset()` instead (PostHog's `safely_get_queryset` pattern).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name
from rest_framework import exceptions, permissions, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.schemas.inspectors import ViewInspector
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from billing.entitlements import EntitlementError, check
from bosco.api.authentication import ApiKeyAuthentication, ApiKeyUser, CsrfSessionAuthentication
from bosco.api.pagination import PagePagination
from bosco.api.permissions import WorkspaceAccess
from bosco.api.schema import ProblemAutoSchema
from bosco.api.throttling import PlanRateThrottle


class WorkspaceScopedMixin:
    authentication_classes: Sequence[type[BaseAuthentication]] = (ApiKeyAuthentication, CsrfSessionAuthentication)
    permission_classes: Sequence[Any] = (WorkspaceAccess,)
    throttle_classes: Sequence[type[BaseThrottle]] = (PlanRateThrottle,)
    pagination_class: type[BasePagination] | None = PagePagination
    schema: ViewInspector | None = ProblemAutoSchema()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        tenant = getattr(request._request, "tenant", None)
        if tenant is None or tenant.schema_name == get_public_schema_name():
            raise exceptions.NotFound("The API is served on your workspace's host.")
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        # After authentication, so a suspended workspace tells only its own callers so.
        if tenant.status != tenant.Status.ACTIVE:
            raise exceptions.PermissionDenied("This workspace is suspended; its API answers again once it is active.")
        self._check_plan(request, tenant.schema_name)

    @staticmethod
    def _check_plan(request: Request, schema_name: str) -> None:
        """The plan decides whether API keys work at all; a read-only workspace answers reads only."""
        try:
            if isinstance(request.user, ApiKeyUser):
                check(schema_name, "api")
            if request.method not in permissions.SAFE_METHODS:
                check(schema_name, "write")
        except EntitlementError as exc:
            raise exceptions.PermissionDenied(exc.message) from exc

    @property
    def workspace(self) -> Any:
        return self.request._request.tenant  # type: ignore[attr-defined]


class WorkspaceAPIView(WorkspaceScopedMixin, APIView):
    """For endpoints that are not a list of rows (metrics, exports, actions)."""


class WorkspaceViewSet(WorkspaceScopedMixin, viewsets.GenericViewSet):
    """For resources. Implement `workspace_queryset()`; `get_queryset` cannot be overridden."""

    def workspace_queryset(self) -> QuerySet[Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement workspace_queryset()")

    def get_queryset(self) -> QuerySet[Any]:
        return self.workspace_queryset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__}: implement workspace_queryset(), not get_queryset()")
