"""API: the workspace the key belongs to (also the cheapest authenticated endpoint)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from bosco.api.viewsets import WorkspaceAPIView


class WorkspaceOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    reporting_currency = serializers.CharField()
    time_zone = serializers.CharField()
    plan = serializers.CharField()


class WorkspaceView(WorkspaceAPIView):
    """The calling key's (or member's) workspace."""

    @extend_schema(
        operation_id="workspace_retrieve",
        responses=WorkspaceOut,
        summary="The workspace this key or session belongs to",
        description="Its address, name, reporting currency, time zone and plan.",
    )
    def get(self, request: Request) -> Response:
        ws = self.workspace
        return Response(
            {
                "slug": ws.slug,
                "name": ws.name,
                "reporting_currency": ws.reporting_currency,
                "time_zone": ws.time_zone,
                "plan": ws.plan,
            }
        )
