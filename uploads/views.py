"""File upload pages under /data-sources/uploads/: upload, preview and map, progress, errors, result.

Views parse the request, check the role, call one service and render. Everyone in the workspace
may look; uploading, mapping, accepting and discarding need `MANAGE_CONNECTIONS` (owner, admin).
While a file is checked or landed, its status card polls itself with htmx (`?fragment=status`).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Membership
from accounts.roles import Permission
from uploads import selectors, services
from uploads.models import Upload
from uploads.parsing import FIELDS
from uploads.services import UploadError


def _membership(request: HttpRequest) -> Membership:
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    return membership


def _can_manage(request: HttpRequest) -> bool:
    return _membership(request).can(Permission.MANAGE_CONNECTIONS)


def _forbidden() -> HttpResponse:
    return HttpResponse("Only workspace owners and admins can upload files.", status=403)


def _upload(pk: int) -> Upload:
    upload = selectors.upload_get(pk=pk)
    if upload is None:
        raise Http404
    return upload


def _detail(upload: Upload) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("uploads:upload_detail", args=[upload.pk]))


def _reporting_currency(request: HttpRequest) -> str:
    return getattr(getattr(request, "tenant", None), "reporting_currency", "") or "EUR"


@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    _membership(request)
    error = ""
    status = 200
    if request.method == "POST":
        if not _can_manage(request):
            return _forbidden()
        file = request.FILES.get("file")
        if file is None:
            error, status = "Choose a file to upload (CSV or .xlsx).", 400
        else:
            try:
                upload = services.upload_create(
                    kind=request.POST.get("kind", ""),
                    source_name=request.POST.get("source_name", ""),
                    file=file,
                    default_currency=request.POST.get("currency", "") or _reporting_currency(request),
                    user_id=int(request.user.pk or 0) or None,
                )
            except UploadError as exc:
                error, status = str(exc), 400
            else:
                return _detail(upload)
    page = selectors.uploads_page(default_currency=_reporting_currency(request))
    context = {
        "section": "sources",
        "page": page,
        "can_manage": _can_manage(request),
        "error": error,
        "form": request.POST if request.method == "POST" else {},
    }
    if request.GET.get("fragment") == "uploads" and getattr(request, "htmx", False):
        return render(request, "uploads/index.html#uploads", context)
    return render(request, "uploads/index.html", context, status=status)


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    _membership(request)
    page = selectors.upload_page(upload=_upload(pk))
    context = {"section": "sources", "page": page, "upload": page.upload, "can_manage": _can_manage(request)}
    if request.GET.get("fragment") == "status" and getattr(request, "htmx", False):
        response = render(request, "uploads/detail.html#status", context)
        if not page.upload.in_progress:
            # finished: reload the whole page (the mapping form and result depend on the outcome)
            response["HX-Refresh"] = "true"
        return response
    return render(request, "uploads/detail.html", context)


def _index_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@require_POST
def mapping(request: HttpRequest, pk: int) -> HttpResponse:
    _membership(request)
    if not _can_manage(request):
        return _forbidden()
    upload = _upload(pk)
    if "apply" in request.POST:
        try:
            services.upload_mapping_apply(upload=upload, name=request.POST.get("apply", ""))
        except UploadError as exc:
            messages.error(request, str(exc))
        return _detail(upload)
    try:
        services.upload_mapping_set(
            upload=upload,
            mapping={f.name: _index_or_none(request.POST.get(f"col_{f.name}", "")) for f in FIELDS[upload.kind]},
            date_order=request.POST.get("date_order", ""),
            decimal_mark=request.POST.get("decimal_mark", ""),
            default_currency=request.POST.get("currency", ""),
            encoding=request.POST.get("encoding", ""),
            save_as=request.POST.get("save_as", ""),
        )
    except UploadError as exc:
        page = selectors.upload_page(upload=_upload(pk))
        context = {"section": "sources", "page": page, "upload": page.upload, "can_manage": True, "error": str(exc)}
        return render(request, "uploads/detail.html", context, status=400)
    return _detail(upload)


def _act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _membership(request)
    if not _can_manage(request):
        return _forbidden()
    upload = _upload(pk)
    try:
        if action == "accept":
            services.upload_skips_accept(upload=upload)
        elif action == "restart":
            services.upload_restart(upload=upload)
        else:
            services.upload_discard(upload=upload)
            messages.success(request, f"Upload of {upload.file_name} discarded; nothing of it landed.")
            return HttpResponseRedirect(reverse("uploads:upload_index"))
    except UploadError as exc:
        messages.error(request, str(exc))
    return _detail(upload)


@require_POST
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "accept")


@require_POST
def discard(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "discard")


@require_POST
def restart(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "restart")


@require_GET
def skipped(request: HttpRequest, pk: int) -> HttpResponse:
    _membership(request)
    upload = _upload(pk)
    path = services.skipped_path(upload.pk)
    if not upload.rows_invalid or not path.exists():
        raise Http404
    name = f"skipped-rows-{upload.pk}.csv"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="text/csv; charset=utf-8")
