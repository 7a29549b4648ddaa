"""Insight records of one workspace (tenant schema): the model registry and what models produced.

- `ModelVersion` is the registry: one row per trained version (kind, what it was trained for,
  parameters, training window, quality metrics, code version). Rows are unique on a fingerprint
  of all of that, so retraining on unchanged data finds the existing version.
- Every stored prediction names the version that produced it: `AnomalyFinding`,
  `ForecastPoint`, `AttributionImport`, `AttributionResult` and `BudgetScenario` all have a
  `version` foreign key that protects the version from deletion while anything refers to it
  (the nightly retention, `services.prune_model_versions`, deletes only unreferenced ones).
- Findings upsert on (metric, scope, key, date), forecasts on the same key, so a rerun of the
  nightly scoring updates rows in place and never duplicates them.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    """What a series is about. `key` is "" for the workspace, the platform code, or the
    public campaign id of the metrics layer ("google_ads:123:456")."""

    WORKSPACE = "workspace", "All channels"
    PLATFORM = "platform", "Platform"
    CAMPAIGN = "campaign", "Campaign"


class ModelVersion(models.Model):
    class Kind(models.TextChoices):
        ANOMALY = "anomaly", "Anomaly detection"
        FORECAST = "forecast", "Forecast"
        ATTRIBUTION = "attribution", "Attribution"
        BUDGET = "budget", "Budget response curves"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    #: what this version was trained for, e.g. "spend / platform / meta" or "budget / platform / revenue"
    name = models.CharField(max_length=300)
    #: the algorithm's own version string (`MODEL_VERSION` of the insights.ml module)
    algorithm = models.CharField(max_length=64)
    #: project version + hash of the model source files (see insights.services.versioning)
    code_version = models.CharField(max_length=64)
    params = models.JSONField(default=dict)
    training_start = models.DateField(null=True, blank=True)
    training_end = models.DateField(null=True, blank=True)
    metrics = models.JSONField(default=dict)
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "ins_model_version"
        ordering = ("-created_at", "-pk")
        constraints = [models.UniqueConstraint(fields=("kind", "fingerprint"), name="ins_model_version_unique")]
        indexes = [models.Index(fields=("kind", "name", "-created_at"), name="ins_model_version_kind_name")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.name})"


class AnomalyFinding(models.Model):
    class Severity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    class Direction(models.TextChoices):
        UP = "up", "Up"
        DOWN = "down", "Down"

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="anomalies")
    metric = models.CharField(max_length=32)
    scope = models.CharField(max_length=16, choices=Scope.choices)
    key = models.CharField(max_length=200, blank=True, default="")
    #: campaign or platform name when it was scored (names change; the key does not)
    label = models.CharField(max_length=300, blank=True, default="")
    platform = models.CharField(max_length=32, blank=True, default="")
    date = models.DateField()
    value = models.FloatField()
    expected = models.FloatField()
    lower = models.FloatField()
    upper = models.FloatField()
    score = models.FloatField()
    z = models.FloatField()
    severity = models.CharField(max_length=8, choices=Severity.choices)
    direction = models.CharField(max_length=4, choices=Direction.choices)
    explanation = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "ins_anomaly_finding"
        ordering = ("-date", "-score")
        constraints = [
            models.UniqueConstraint(fields=("metric", "scope", "key", "date"), name="ins_anomaly_finding_unique")
        ]
        indexes = [
            models.Index(fields=("date", "severity"), name="ins_anomaly_date_sev"),
            models.Index(fields=("scope", "key", "date"), name="ins_anomaly_scope_key_date"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.scope}:{self.key} {self.date} ({self.severity})"


class Incident(models.Model):
    """One entity's unusual day: the findings that moved together, a probable cause, feedback.

    Written by the nightly scoring (`services.incidents`), read by the Anomalies page and the
    alerts. `metrics` lists the grouped findings (metric, direction, z, value, expected,
    severity, explanation), strongest first. `feedback` is a person's judgement; it tunes the
    later scoring of the series involved and keeps the incident from being re-scored.
    """

    class Feedback(models.TextChoices):
        NONE = "", "Not reviewed"
        EXPECTED = "expected", "Expected"
        NOT_USEFUL = "not_useful", "Not useful"

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="incidents")
    scope = models.CharField(max_length=16, choices=Scope.choices)
    key = models.CharField(max_length=200, blank=True, default="")
    label = models.CharField(max_length=300, blank=True, default="")
    platform = models.CharField(max_length=32, blank=True, default="")
    date = models.DateField()
    severity = models.CharField(max_length=8, choices=AnomalyFinding.Severity.choices)
    #: the largest robust deviation among the grouped findings (ranks incidents of a severity)
    score = models.FloatField()
    #: code of the probable cause (`services.incidents.CAUSES`), "" when the pattern says none
    cause = models.CharField(max_length=32, blank=True, default="")
    summary = models.TextField()
    metrics = models.JSONField(default=list)
    feedback = models.CharField(max_length=16, choices=Feedback.choices, blank=True, default="")
    feedback_at = models.DateTimeField(null=True, blank=True)
    feedback_by_id = models.BigIntegerField(null=True, blank=True)  # accounts.User lives in public
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "ins_incident"
        ordering = ("-date", "-score")
        constraints = [models.UniqueConstraint(fields=("scope", "key", "date"), name="ins_incident_unique")]
        indexes = [models.Index(fields=("date", "severity"), name="ins_incident_date_sev")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} {self.date} ({self.severity})"

    @property
    def metric_names(self) -> list[str]:
        return [item["metric"] for item in self.metrics]


class ForecastPoint(models.Model):
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="forecast_points")
    metric = models.CharField(max_length=32)
    scope = models.CharField(max_length=16, choices=Scope.choices)
    key = models.CharField(max_length=200, blank=True, default="")
    label = models.CharField(max_length=300, blank=True, default="")
    platform = models.CharField(max_length=32, blank=True, default="")
    date = models.DateField()
    yhat = models.FloatField()
    lower_80 = models.FloatField()
    upper_80 = models.FloatField()
    lower_95 = models.FloatField()
    upper_95 = models.FloatField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "ins_forecast_point"
        ordering = ("metric", "scope", "key", "date")
        constraints = [
            models.UniqueConstraint(fields=("metric", "scope", "key", "date"), name="ins_forecast_point_unique")
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.scope}:{self.key} {self.date}: {self.yhat:.2f}"


class AttributionImport(models.Model):
    """A set of attributed conversion paths: an uploaded CSV (kept verbatim so it can be
    re-attributed later) or the nightly build from first-party journeys (`source` "journeys",
    its paths in the same CSV form, with the build's summary in `details`)."""

    class Source(models.TextChoices):
        CSV = "csv", "CSV import"
        JOURNEYS = "journeys", "First-party journeys"

    source = models.CharField(max_length=16, choices=Source.choices, default=Source.CSV)
    name = models.CharField(max_length=200)
    filename = models.CharField(max_length=255)
    content = models.TextField()
    content_sha256 = models.CharField(max_length=64)
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="attribution_imports")
    uploaded_by_id = models.BigIntegerField(null=True, blank=True)  # accounts.User lives in public
    uploaded_at = models.DateTimeField(default=timezone.now)
    paths = models.PositiveIntegerField()
    channels = models.JSONField(default=list)
    conversions = models.FloatField()
    conversion_value = models.FloatField()
    null_paths = models.FloatField()
    has_touch_times = models.BooleanField(default=False)
    #: journeys only: conversions placed in [period_start, period_end] (workspace days)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    #: journeys only: top paths, time- and touches-to-convert, platform claims, build counts
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "ins_attribution_import"
        ordering = ("-uploaded_at", "-pk")
        constraints = [
            models.UniqueConstraint(fields=("content_sha256", "version"), name="ins_attribution_import_unique")
        ]

    def __str__(self) -> str:
        return self.name


class AttributionResult(models.Model):
    attribution_import = models.ForeignKey(AttributionImport, on_delete=models.CASCADE, related_name="results")
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="attribution_results")
    channel = models.CharField(max_length=200)
    model = models.CharField(max_length=32)
    conversions = models.FloatField()
    conversion_value = models.FloatField()

    class Meta:
        db_table = "ins_attribution_result"
        ordering = ("attribution_import", "model", "channel")
        constraints = [
            models.UniqueConstraint(
                fields=("attribution_import", "model", "channel"), name="ins_attribution_result_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.channel}: {self.conversions:.1f}"


class BudgetScenario(models.Model):
    """A saved what-if of the budget planner: inputs, the allocation and the curves it used."""

    name = models.CharField(max_length=120)
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="budget_scenarios")
    scope = models.CharField(max_length=16, choices=Scope.choices)
    target = models.CharField(max_length=32)
    period = models.CharField(max_length=8)
    budget = models.FloatField()
    bounds = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "ins_budget_scenario"
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return self.name


class WorkspaceEvent(models.Model):
    """A day or span that moves the numbers and the calendar does not know: a sale, a launch.

    The nightly forecasts learn one effect per event name from its past occurrences and apply
    it to its future ones (`insights.ml.calendar.Event`), so enter each year's sale under the
    same name.
    """

    name = models.CharField(max_length=100)
    start = models.DateField()
    end = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "ins_workspace_event"
        ordering = ("start", "pk")
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="ins_event_end_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.start}–{self.end})"


class BudgetLiftTest(models.Model):
    """An experiment's result on one platform (a holdout or geo test), entered by the team.

    Spend data alone often cannot tell apart channels whose spend moves together; a lift test
    pins one channel's curve: while it ran, spend per day moved from `spend_before` to
    `spend_after` and the outcome (`target`: revenue or conversions) per day rose by `lift`
    with standard error `lift_sd`. The nightly budget fit calibrates the curves with every
    test of its target (`insights.ml.response.LiftTest`).
    """

    channel = models.CharField(max_length=64)  # platform key, as in the planner's channels
    target = models.CharField(max_length=32)  # conversion_value or conversions
    start = models.DateField()
    end = models.DateField()
    spend_before = models.FloatField()
    spend_after = models.FloatField()
    lift = models.FloatField()
    lift_sd = models.FloatField()
    note = models.CharField(max_length=200, blank=True, default="")
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "ins_budget_lift_test"
        ordering = ("-end", "-pk")
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="ins_lift_end_after_start"),
            models.CheckConstraint(condition=models.Q(lift_sd__gt=0), name="ins_lift_sd_positive"),
            models.CheckConstraint(
                condition=models.Q(spend_before__gte=0, spend_after__gte=0), name="ins_lift_spend_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} lift test ({self.start}–{self.end})"
