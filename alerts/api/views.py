"""Alerts API: rules (list, create, read, change, delete) and incidents (list, filter, resolve).

Reads need any key or member; changes need a read-write key or a role with EDIT_INSIGHTS (owner,
admin, analyst). A rule is checked by the same form as the Alerts page, so both refuse the same
rules with the same messages (400 problem, `errors` per field). Built-in rules cannot be deleted
(409); a resolved incident cannot be resolved again (409).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Permission
from alerts import selectors, services
from alerts.api.serializers import IncidentDetailOut, IncidentOut, IncidentQuery, RuleIn, RuleOut
from alerts.forms import RuleForm
from alerts.models import AlertIncident, AlertRule
from bosco.api.exceptions import Conflict
from bosco.api.params import PAGINATION_PARAMS, NoQueryParams, query_params_validate
from bosco.api.viewsets import WorkspaceViewSet

_BIGINT_MAX = 2**63 - 1
_RULE_ID = OpenApiParameter("rule_id", int, OpenApiParameter.PATH, description="The rule's id.")
_INCIDENT_ID = OpenApiParameter("incident_id", int, OpenApiParameter.PATH, description="The incident's id.")


def _int_id(value: str) -> int:
    """A path id as an integer, or the same 404 as a missing one."""
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= _BIGINT_MAX:
        raise exceptions.NotFound("No such resource in this workspace.")
    return int(value)


#: form field → API field, where the names differ
_FORM_TO_API = {"recipients_text": "recipients", "new_secret": "renew_secret"}
#: API input that is not a stored attribute of the rule (a stored URL is kept by leaving it out)
_NOT_STORED = ("renew_secret", "webhook_url")


def _form_data(values: dict[str, Any]) -> dict[str, Any]:
    """Typed API values as the rule form's input (checkboxes present only when on)."""
    flags = ("enabled", "muted", "renew_secret")
    data = {k: v for k, v in values.items() if k not in ("recipients", *flags)}
    data = {k: "" if v is None else v for k, v in data.items()}
    data["recipients_text"] = "\n".join(values.get("recipients") or [])
    for flag in ("enabled", "muted"):
        if values.get(flag):
            data[flag] = "on"
    if values.get("renew_secret"):
        data["new_secret"] = "on"  # noqa: S105  (a checkbox value, not a secret)
    return data


def _rule_values(rule: AlertRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RuleIn().get_fields() if name not in _NOT_STORED}


def _save_rule(request: Request, rule: AlertRule | None, *, partial: bool) -> AlertRule:
    """Check the input's types, then the page's rule form checks its meaning (same messages);
    a webhook rule gets its signing secret, returned once as `webhook_secret`."""
    given = RuleIn(data=request.data, partial=partial)
    given.is_valid(raise_exception=True)
    values = {**(_rule_values(rule) if rule else {}), **given.validated_data}
    form = RuleForm(_form_data(values), instance=rule)
    if not form.is_valid():
        errors = {_FORM_TO_API.get(k, k): v for k, v in form.errors.items()}
        raise exceptions.ValidationError(errors)
    with transaction.atomic():
        saved = form.save()
        secret = services.webhook_secret_issue(rule=saved, renew=bool(form.cleaned_data.get("new_secret")))
    saved.issued_secret = secret  # type: ignore[attr-defined]  # shown once, never stored in the clear
    return saved


class RuleViewSet(WorkspaceViewSet):
    """Alert rules of this workspace."""

    write_permission = Permission.EDIT_INSIGHTS

    def workspace_queryset(self) -> QuerySet[AlertRule]:
        return selectors.rules_all().order_by("id")

    def _rule(self, rule_id: str) -> AlertRule:
        rule = self.get_queryset().filter(pk=_int_id(rule_id)).first()
        if rule is None:
            raise exceptions.NotFound("No such resource in this workspace.")
        return rule

    @extend_schema(operation_id="alert_rules_list", summary="Alert rules", responses=RuleOut(many=True))
    def list(self, request: Request) -> Response:
        query_params_validate(request, NoQueryParams, extra=PAGINATION_PARAMS)
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None
        return self.get_paginated_response(RuleOut(page, many=True).data)

    @extend_schema(
        operation_id="alert_rules_create",
        summary="Create an alert rule",
        description="Unknown metrics, impossible thresholds and scopes that match nothing are refused (400).",
        request=RuleIn,
        responses={201: OpenApiResponse(RuleOut, description="Created.")},
    )
    def create(self, request: Request) -> Response:
        query_params_validate(request, NoQueryParams)
        rule = _save_rule(request, None, partial=False)
        return Response(RuleOut(rule).data, status=201, headers={"Location": f"/api/v1/alerts/rules/{rule.pk}"})

    @extend_schema(
        operation_id="alert_rules_retrieve", summary="One alert rule", parameters=[_RULE_ID], responses=RuleOut
    )
    def retrieve(self, request: Request, rule_id: str) -> Response:
        query_params_validate(request, NoQueryParams)
        return Response(RuleOut(self._rule(rule_id)).data)

    @extend_schema(
        operation_id="alert_rules_update",
        summary="Change an alert rule",
        description="Only the fields given change; the whole rule is checked again.",
        parameters=[_RULE_ID],
        request=RuleIn(partial=True),
        responses=RuleOut,
    )
    def partial_update(self, request: Request, rule_id: str) -> Response:
        query_params_validate(request, NoQueryParams)
        rule = _save_rule(request, self._rule(rule_id), partial=True)
        return Response(RuleOut(rule).data)

    @extend_schema(
        operation_id="alert_rules_destroy",
        summary="Delete an alert rule",
        parameters=[_RULE_ID],
        request=None,
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def destroy(self, request: Request, rule_id: str) -> Response:
        query_params_validate(request, NoQueryParams)
        rule = self._rule(rule_id)
        try:
            services.rule_delete(rule=rule)
        except ValueError as exc:
            raise Conflict(str(exc), code="builtin-rule") from exc
        return Response(status=204)


class IncidentViewSet(WorkspaceViewSet):
    """Incidents the rules opened, newest first."""

    write_permission = Permission.EDIT_INSIGHTS

    def workspace_queryset(self) -> QuerySet[AlertIncident]:
        return selectors.incidents_filtered()

    def _incident(self, incident_id: str) -> AlertIncident:
        incident = self.get_queryset().filter(pk=_int_id(incident_id)).first()
        if incident is None:
            raise exceptions.NotFound("No such resource in this workspace.")
        return incident

    @extend_schema(
        operation_id="alert_incidents_list",
        summary="Alert incidents",
        parameters=[IncidentQuery],
        responses=IncidentOut(many=True),
    )
    def list(self, request: Request) -> Response:
        query = query_params_validate(request, IncidentQuery, extra=PAGINATION_PARAMS)
        incidents = selectors.incidents_filtered(state=query.get("state"), rule_id=query.get("rule"))
        page = self.paginate_queryset(incidents)
        assert page is not None
        return self.get_paginated_response(IncidentOut(page, many=True).data)

    @extend_schema(
        operation_id="alert_incidents_retrieve",
        summary="One alert incident",
        description="With every notification sent about it (channel, outcome, attempts, last HTTP status or error).",
        parameters=[_INCIDENT_ID],
        responses=IncidentDetailOut,
    )
    def retrieve(self, request: Request, incident_id: str) -> Response:
        query_params_validate(request, NoQueryParams)
        return Response(IncidentDetailOut(self._incident(incident_id)).data)

    @extend_schema(
        operation_id="alert_incidents_resolve",
        summary="Resolve an incident",
        description="Marks it resolved without a message; if the condition still holds, the next evaluation opens a new one.",
        parameters=[_INCIDENT_ID],
        request=None,
        responses=IncidentOut,
    )
    def resolve(self, request: Request, incident_id: str) -> Response:
        query_params_validate(request, NoQueryParams)
        incident = self._incident(incident_id)
        try:
            services.incident_resolve(incident=incident)
        except ValueError as exc:
            raise Conflict(str(exc), code="incident-resolved") from exc
        return Response(IncidentOut(incident).data)
