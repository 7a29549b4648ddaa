"""Pages of the Airbyte bridge under /data-sources/airbyte/ and on an Airbyte connection's page.

- `airbyte_sources`: the sources Bosco offers (registry), each with "Add".
- `airbyte_add`: the form generated from the source's spec; while the source is being prepared
  (its virtualenv built on first use, by a worker) the page says so and reloads itself.
- `airbyte_card`: the Airbyte card of a connection's page (check, streams, schema changes),
  polling itself while `check`/`discover` run.
- `airbyte_streams` (choose streams and sync), `airbyte_recheck`, `airbyte_schema_ack`,
  `airbyte_export` (one stream's raw records as CSV).
Views parse, check the role, call one service, render.
"""

from __future__ import annotations

from zoneinfo import available_timezones

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bosco.db import connection as db
from bosco.money import REPORTING_CURRENCIES
from connectors import selectors
from connectors.airbyte import exports
from connectors.airbyte import selectors as airbyte_selectors
from connectors.airbyte import services as airbyte
from connectors.airbyte.forms import FormPlan, UnsupportedSpec, config_from, spec_form_class
from connectors.airbyte.registry import SOURCES, source_get
from connectors.errors import ConnectorError
from connectors.models import AirbyteSource, Connection, Platform
from connectors.views import _can_manage, _forbidden, _membership, _user_id


class SourceSettingsForm(forms.Form):
    """What Bosco itself needs besides the source's config: a name, the account's currency and time zone."""

    bosco_label = forms.CharField(label="Name in Bosco", max_length=200, required=False)
    bosco_currency = forms.ChoiceField(
        label="Currency of the amounts", help_text="Spend and value the source reports are in this currency."
    )
    bosco_time_zone = forms.CharField(label="Time zone of the dates", initial="UTC", max_length=64)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["bosco_currency"].choices = [(c, f"{c} · {name}") for c, name in REPORTING_CURRENCIES.items()]  # type: ignore[attr-defined]

    def clean_bosco_time_zone(self) -> str:
        zone = self.cleaned_data["bosco_time_zone"].strip()
        if zone not in available_timezones():
            raise forms.ValidationError("Use a time zone name such as Europe/Berlin or America/New_York.")
        return zone


@require_GET
def airbyte_sources(request: HttpRequest) -> HttpResponse:
    _membership(request)
    offered = [s for s in SOURCES.values() if not s.script]
    return render(
        request,
        "connectors/airbyte_sources.html",
        {"section": "sources", "sources": offered, "can_manage": _can_manage(request)},
    )


@require_http_methods(["GET", "POST"])
def airbyte_add(request: HttpRequest, source_key: str) -> HttpResponse:
    if not _can_manage(request):
        return _forbidden()
    if source_key not in SOURCES:
        raise Http404("No such source")
    source = source_get(source_key)
    spec = airbyte.spec_cached(source_key=source_key)
    context: dict[str, object] = {"section": "sources", "source": source}
    if spec is None:
        airbyte.source_prepare_request(source_key=source_key)
        context["preparing"] = True
        context["prepare_error"] = airbyte.prepare_error(source_key=source_key)
        return render(request, "connectors/airbyte_add.html", context)
    try:
        form_class, plan = spec_form_class(spec)
    except UnsupportedSpec as exc:
        context["unsupported"] = str(exc)
        return render(request, "connectors/airbyte_add.html", context, status=422)
    currency = getattr(getattr(db, "tenant", None), "reporting_currency", "EUR")
    settings_form = SourceSettingsForm(
        request.POST or None, initial={"bosco_label": source.name, "bosco_currency": currency}
    )
    form = form_class(request.POST or None)
    if request.method == "POST" and settings_form.is_valid() and form.is_valid():
        values = config_from(form, plan)
        if values is not None:
            config, secrets = values
            try:
                connection = airbyte.airbyte_source_add(
                    source_key=source_key,
                    label=settings_form.cleaned_data["bosco_label"] or source.name,
                    currency=settings_form.cleaned_data["bosco_currency"],
                    time_zone=settings_form.cleaned_data["bosco_time_zone"],
                    config=config,
                    secrets=secrets,
                    spec=spec,
                    user_id=_user_id(request),
                )
            except ConnectorError as exc:
                messages.error(request, exc.user_message)
            else:
                messages.success(
                    request, f"{connection.label} added. Bosco is testing the connection and reading its streams."
                )
                return HttpResponseRedirect(reverse("connectors:detail", args=[connection.pk]))
    context.update({"form": form, "settings_form": settings_form, "groups": _groups(form, plan)})
    return render(request, "connectors/airbyte_add.html", context, status=400 if request.method == "POST" else 200)


def _groups(form: forms.Form, plan: FormPlan) -> list[dict[str, object]]:
    """The form's fields for the template: plain ones, then each oneOf choice with its options' fields."""
    in_variant = {name for variants in plan.one_of.values() for v in variants for name in v.fields}
    groups: list[dict[str, object]] = [
        {"title": "", "fields": [form[n] for n in form.fields if n not in in_variant and n not in plan.one_of]}
    ]
    for key, variants in plan.one_of.items():
        groups.append(
            {
                "title": form.fields[key].label,
                "choice": form[key],
                "options": [
                    {"title": v.title, "index": i, "fields": [form[n] for n in v.fields]}
                    for i, v in enumerate(variants)
                ],
            }
        )
    return groups


@require_GET
def airbyte_card(request: HttpRequest, pk: int) -> HttpResponse:
    _membership(request)
    connection = selectors.connection_get(pk=pk)
    if connection.platform != Platform.AIRBYTE:
        raise Http404
    return render(
        request,
        "connectors/_airbyte_card.html",
        {
            "card": airbyte_selectors.airbyte_card(connection=connection),
            "connection": connection,
            "can_manage": _can_manage(request),
        },
    )


def _airbyte_or_404(pk: int) -> tuple[Connection, AirbyteSource]:
    connection = selectors.connection_get(pk=pk)
    row = AirbyteSource.objects.filter(connection=connection).first()
    if row is None:
        raise Http404
    return connection, row


@require_POST
def airbyte_streams(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_manage(request):
        return _forbidden()
    connection, _row = _airbyte_or_404(pk)
    try:
        run = airbyte.streams_choose(
            connection=connection, streams=request.POST.getlist("streams"), user_id=_user_id(request)
        )
    except ConnectorError as exc:
        messages.error(request, exc.user_message)
    else:
        messages.success(request, "Streams saved. Sync started." if run else "Streams saved.")
    return HttpResponseRedirect(reverse("connectors:detail", args=[pk]))


@require_POST
def airbyte_recheck(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_manage(request):
        return _forbidden()
    connection, _row = _airbyte_or_404(pk)
    airbyte.check_discover_request(connection=connection)
    messages.success(request, "Testing the connection and reading its streams again.")
    return HttpResponseRedirect(reverse("connectors:detail", args=[pk]))


@require_POST
def airbyte_schema_ack(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_manage(request):
        return _forbidden()
    connection, _row = _airbyte_or_404(pk)
    airbyte.schema_changes_acknowledge(connection=connection)
    return HttpResponseRedirect(reverse("connectors:detail", args=[pk]))


@require_GET
def airbyte_export(request: HttpRequest, pk: int, stream: str) -> StreamingHttpResponse:
    _membership(request)
    connection, row = _airbyte_or_404(pk)
    if row.stream_schema(stream) is None:
        raise Http404("No such stream")
    response = StreamingHttpResponse(
        exports.stream_csv(connection=connection, source=row, stream=stream), content_type="text/csv"
    )
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stream)[:80]
    response["Content-Disposition"] = f'attachment; filename="airbyte-{pk}-{safe}.csv"'
    return response
