"""Tracking endpoints: one person's events erased on request (a GDPR / CCPA deletion).

The same service as the Settings form (`tracking.services.privacy.customer_events_erase`): events
still in the collect buffer are landed first, then the person's events and those of every visitor
id ever linked to them are deleted in one transaction. Owners and admins (or a read-write key,
which only they can create) may erase; a read-only key may not.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Permission
from bosco.api.params import NoQueryParams, query_params_validate
from bosco.api.viewsets import WorkspaceAPIView
from tracking.api.serializers import ErasureIn, ErasureOut
from tracking.services import privacy


class ErasureView(WorkspaceAPIView):
    write_permission = Permission.MANAGE_WORKSPACE  # as on the Settings page

    @extend_schema(
        operation_id="tracking_erasure_create",
        summary="Erase one person's events",
        description=(
            "Deletes every first-party event of one person in this workspace — found by customer id, e-mail"
            " address (hashed on arrival, never stored) or its SHA-256 — together with the events of every"
            " anonymous visitor id ever linked to them (by an identify or an order), so their browsing before"
            " they signed in goes too. Beacons still being landed are landed first, so none arrives after the"
            " erasure. Answers how many events and visitor ids were erased; asking again answers 0. Needs a"
            " read-write key (or an owner's or admin's session)."
        ),
        request=ErasureIn,
        responses=ErasureOut,
        examples=[OpenApiExample("By e-mail", request_only=True, value={"email": "ana@example.com"})],
    )
    def post(self, request: Request) -> Response:
        query_params_validate(request, NoQueryParams)
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": "the body must be a JSON object"})
        body = ErasureIn(data=request.data)
        body.is_valid(raise_exception=True)
        given = body.validated_data
        try:
            result = privacy.customer_events_erase(
                customer_id=given.get("customer_id", ""),
                email=given.get("email", ""),
                email_sha256=given.get("email_sha256", ""),
            )
        except privacy.ErasureError as exc:
            raise exceptions.ValidationError({"non_field_errors": str(exc)}) from exc
        return Response(ErasureOut({"events_deleted": result.events_deleted, "visitors": result.visitors}).data)
