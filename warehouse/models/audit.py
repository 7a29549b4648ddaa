"""Audit of the transformations: runs, lineage, data tests, quarantine and restatements.

These tables answer "what ran, on what, with what result" (TransformRun, ModelRun), "where did
this table's data come from" (ModelNode + LineageEdge, walked by a recursive query), "which rows
were refused and why" (QuarantinedRow) and "what changed in the past since I last looked"
(Restatement). They are written by the runner only.
"""

from __future__ import annotations

from django.db import models


class TransformRun(models.Model):
    """One execution of the model graph: a synced window, a full rebuild or an FX recompute."""

    class Kind(models.TextChoices):
        WINDOW = "window", "Synced window"
        FULL = "full", "Full rebuild"
        FX = "fx", "Currency recompute"
        CHECKS = "checks", "Scheduled checks"
        #: a sync that changed nothing: no transform, only when it read (`synced_from`)
        READ = "read", "Synced, nothing changed"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    connection_id = models.BigIntegerField(null=True, blank=True)
    sync_run_id = models.BigIntegerField(null=True, blank=True)
    #: when the sync run behind a window began reading the platform (None for runs no sync
    #: started): every day that had ended in an account's zone by then was read whole
    synced_from = models.DateTimeField(null=True, blank=True)
    platforms = models.JSONField(default=list)
    #: None means every account
    account_ids = models.JSONField(null=True, blank=True)
    date_from = models.DateField()
    date_to = models.DateField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    summary = models.JSONField(default=dict)

    class Meta:
        db_table = "wh_transform_run"
        indexes = [models.Index(fields=["connection_id", "-started_at"], name="wh_run_connection_started")]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.kind}, {self.status})"


class ModelRun(models.Model):
    """One model's part of a run: inputs, output, window, rows read/written, duration, status."""

    class Status(models.TextChoices):
        SUCCESS = "success", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    run = models.ForeignKey(TransformRun, on_delete=models.CASCADE, related_name="model_runs")
    model = models.CharField(max_length=100)
    output = models.CharField(max_length=100)
    inputs = models.JSONField(default=list)
    date_from = models.DateField()
    date_to = models.DateField()
    rows_read = models.BigIntegerField(default=0)
    rows_written = models.BigIntegerField(default=0)
    rows_quarantined = models.BigIntegerField(default=0)
    duration_ms = models.FloatField(default=0.0)
    status = models.CharField(max_length=16, choices=Status.choices)
    error = models.TextField(blank=True, default="")
    #: e.g. restatements logged, tests run
    details = models.JSONField(default=dict)
    started_at = models.DateTimeField()

    class Meta:
        db_table = "wh_model_run"
        indexes = [models.Index(fields=["model", "-started_at"], name="wh_model_run_latest")]

    def __str__(self) -> str:
        return f"{self.model} in run {self.run_id}: {self.status}"


class ModelNode(models.Model):
    """A node of the lineage graph: a SQL model (or a source table such as raw_record)."""

    name = models.CharField(max_length=100, primary_key=True)
    layer = models.CharField(max_length=16)
    output = models.CharField(max_length=100)
    materialization = models.CharField(max_length=16)
    description = models.TextField(blank=True, default="")
    sql_sha256 = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "wh_model"

    def __str__(self) -> str:
        return self.name


class LineageEdge(models.Model):
    """`model` reads `input` (another model's output or a source table)."""

    pk = models.CompositePrimaryKey("model", "input")
    model = models.CharField(max_length=100)
    input = models.CharField(max_length=100)

    class Meta:
        db_table = "wh_lineage_edge"
        indexes = [models.Index(fields=["input"], name="wh_lineage_by_input")]

    def __str__(self) -> str:
        return f"{self.input} → {self.model}"


class PendingWindow(models.Model):
    """A window a model still has to process.

    A run files one for every model it plans; each model deletes its own in the transaction that
    writes its output. A model that fails keeps its windows (and so do the models after it), and
    the next run of that model processes them together with its own: a failure delays
    downstream tables, it never leaves them wrong for good.
    """

    model = models.CharField(max_length=100)
    platforms = models.JSONField()
    #: None means every account
    account_ids = models.JSONField(null=True, blank=True)
    date_from = models.DateField()
    date_to = models.DateField()
    run_id = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        db_table = "wh_pending_window"
        indexes = [models.Index(fields=["model"], name="wh_pending_by_model")]

    def __str__(self) -> str:
        return f"{self.model} {self.date_from}…{self.date_to}"


class DataTestResult(models.Model):
    """The outcome of one data test in one run."""

    class Severity(models.TextChoices):
        ERROR = "error", "Hard (quarantines)"
        WARN = "warn", "Warning"

    class Status(models.TextChoices):
        PASS = "pass", "Passed"
        FAIL = "fail", "Failed"
        WARN = "warn", "Warning"

    run = models.ForeignKey(TransformRun, on_delete=models.CASCADE, related_name="test_results")
    model = models.CharField(max_length=100)
    test = models.CharField(max_length=100)
    columns = models.CharField(max_length=300, blank=True, default="")
    severity = models.CharField(max_length=8, choices=Severity.choices)
    status = models.CharField(max_length=8, choices=Status.choices)
    failing_rows = models.BigIntegerField(default=0)
    checked_rows = models.BigIntegerField(default=0)
    message = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict)
    checked_at = models.DateTimeField()

    class Meta:
        db_table = "wh_data_test_result"
        indexes = [models.Index(fields=["-checked_at"], name="wh_test_result_recent")]

    def __str__(self) -> str:
        return f"{self.model}.{self.test}: {self.status}"


class QuarantinedRow(models.Model):
    """A row a hard data test refused: kept with its reason, never in the facts.

    The raw record it came from stays in `raw_record`; a later run re-checks the same window and
    replaces these rows, so the table always shows what is refused now.
    """

    run_id = models.BigIntegerField()
    model = models.CharField(max_length=100)
    test = models.CharField(max_length=100)
    reason = models.TextField()
    stream = models.CharField(max_length=100, blank=True, default="")
    record_key = models.CharField(max_length=400, blank=True, default="")
    platform = models.CharField(max_length=32)
    account_id = models.CharField(max_length=64, blank=True, default="")
    date = models.DateField(null=True, blank=True)
    row = models.JSONField()
    detected_at = models.DateTimeField()

    class Meta:
        db_table = "wh_quarantine"
        indexes = [
            models.Index(fields=["model", "platform", "account_id", "date"], name="wh_quarantine_scope"),
            models.Index(fields=["-detected_at"], name="wh_quarantine_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.record_key}: {self.reason}"


class Restatement(models.Model):
    """A platform changed a number it had already reported: day, campaign, metric, old → new."""

    run_id = models.BigIntegerField()
    detected_at = models.DateTimeField()
    date_day = models.DateField()
    platform = models.CharField(max_length=32)
    account_id = models.CharField(max_length=64)
    campaign_id = models.CharField(max_length=64)
    metric = models.CharField(max_length=32)
    #: in the metric's natural unit; money in the account's currency
    old_value = models.DecimalField(max_digits=24, decimal_places=6)
    new_value = models.DecimalField(max_digits=24, decimal_places=6)
    currency = models.CharField(max_length=3, blank=True, default="")

    class Meta:
        db_table = "wh_restatement"
        indexes = [
            models.Index(fields=["-detected_at"], name="wh_restatement_recent"),
            models.Index(fields=["platform", "account_id", "campaign_id", "date_day"], name="wh_restatement_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.date_day} {self.campaign_id} {self.metric}: {self.old_value} → {self.new_value}"
