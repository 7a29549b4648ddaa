"""Uploaded files of ad performance or offline conversions, and the column mappings people save.

An upload moves through: needs_mapping (preview shown, columns guessed) → checking (a worker reads
every row) → needs_decision (rows with errors: skip them or discard) → landing → landed; or
failed (the file as a whole is unreadable) / discarded. The file itself and what the check writes
(the normalised rows, the skipped rows) live on disk under UPLOADS_DIR/<schema>/<id>/.
"""

from __future__ import annotations

from django.db import models


class Upload(models.Model):
    class Kind(models.TextChoices):
        AD_PERFORMANCE = "ad_performance", "Ad performance"
        OFFLINE_CONVERSIONS = "offline_conversions", "Offline conversions"

    class Status(models.TextChoices):
        NEEDS_MAPPING = "needs_mapping", "Needs column mapping"
        CHECKING = "checking", "Checking rows"
        NEEDS_DECISION = "needs_decision", "Rows with errors"
        LANDING = "landing", "Landing"
        LANDED = "landed", "Landed"
        FAILED = "failed", "Failed"
        DISCARDED = "discarded", "Discarded"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    source_name = models.CharField(max_length=60)
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=8)  # csv | xlsx
    size_bytes = models.BigIntegerField(default=0)
    encoding = models.CharField(max_length=20, blank=True, default="")
    encoding_certain = models.BooleanField(default=True)
    delimiter = models.CharField(max_length=2, blank=True, default="")
    headers = models.JSONField(default=list)
    header_signature = models.TextField(blank=True, default="")
    preview = models.JSONField(default=list)
    #: field name → column index
    mapping = models.JSONField(default=dict)
    mapping_name = models.CharField(max_length=80, blank=True, default="")
    date_order = models.CharField(max_length=3, blank=True, default="")
    detected_date_order = models.CharField(max_length=3, blank=True, default="")
    decimal_mark = models.CharField(max_length=1, default=".")
    default_currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEEDS_MAPPING)
    rows_total = models.BigIntegerField(default=0)
    rows_valid = models.BigIntegerField(default=0)
    rows_invalid = models.BigIntegerField(default=0)
    #: the first errors: [[line, message], ...]; every bad row is in the skipped-rows file
    errors = models.JSONField(default=list)
    covered_from = models.DateField(null=True, blank=True)
    covered_to = models.DateField(null=True, blank=True)
    #: the upload sources the rows name: [[code, name], ...]
    sources = models.JSONField(default=list)
    rows_replaced = models.BigIntegerField(default=0)
    rows_landed = models.BigIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "upload"
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def in_progress(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.LANDING)


class SavedMapping(models.Model):
    """A column mapping saved under a name; applied to the next upload with the same headers."""

    name = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=32, choices=Upload.Kind.choices)
    header_signature = models.TextField()
    #: field name → header text (columns are found by header, so a reordered file still matches)
    columns = models.JSONField(default=dict)
    date_order = models.CharField(max_length=3, blank=True, default="")
    decimal_mark = models.CharField(max_length=1, default=".")
    default_currency = models.CharField(max_length=3, default="EUR")
    source_name = models.CharField(max_length=60, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "upload_saved_mapping"
        ordering = ("name",)
        indexes = [models.Index(fields=["kind", "header_signature"], name="upload_mapping_signature")]

    def __str__(self) -> str:
        return self.name
