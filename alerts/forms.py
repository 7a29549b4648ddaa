"""The rule form of the alerts page: every bad input gets a message next to its field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import validate_email

from alerts import outbound, selectors
from alerts.models import AlertRule, Channel, HealthCheck, RuleKind, ScopeKind, Severity
from billing.entitlements import EntitlementError, check
from bosco.db import connection
from warehouse import metrics as m

WINDOW_CHOICES = ((1, "last day"), (3, "last 3 days"), (7, "last 7 days"))
MAX_RECIPIENTS = 20
#: ratios and percentages that cannot be negative; CTR cannot pass 100 %
NON_NEGATIVE_UNITS = {"money", "count", "ratio", "percent"}
#: a monthly budget above this is a typo, not a budget
MAX_MONTHLY_BUDGET = Decimal("1000000000")


class RuleForm(forms.ModelForm):
    metric = forms.CharField(required=False, max_length=32, help_text="e.g. spend, cpa, roas, ctr")
    window_days = forms.TypedChoiceField(choices=WINDOW_CHOICES, coerce=int, initial=1)
    recipients_text = forms.CharField(
        label="E-mail recipients",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One address per line or comma-separated; empty tells the workspace's owners and admins.",
    )
    webhook_url = forms.CharField(
        label="Slack or webhook URL",
        required=False,
        max_length=outbound.MAX_URL_LENGTH,
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.slack.com/services/…"}),
        help_text="Slack: the incoming-webhook URL. Webhook: your endpoint (https, public address).",
    )
    new_secret = forms.BooleanField(
        label="Issue a new signing secret", required=False, help_text="Webhook only; the old one stops working."
    )

    class Meta:
        model = AlertRule
        fields = (
            "name",
            "kind",
            "metric",
            "comparison",
            "threshold",
            "window_days",
            "compare_to",
            "monthly_budget",
            "scope_kind",
            "scope_value",
            "min_spend",
            "min_conversions",
            "min_severity",
            "health_check",
            "channel",
            "enabled",
            "muted",
            "snoozed_until",
        )
        widgets = {"snoozed_until": forms.DateTimeInput(attrs={"type": "datetime-local"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["recipients_text"].initial = "\n".join(self.instance.recipients)
            if self.instance.webhook_url:
                # the URL is a credential (Slack's path is its token): never sent back to the page
                shown = outbound.url_display(self.instance.webhook_url)
                self.fields["webhook_url"].help_text = f"Now {shown}. Leave empty to keep it."
        self.fields["min_severity"].initial = Severity.MEDIUM
        # older API clients and scripted posts leave these out: the model's defaults apply
        self.fields["compare_to"].required = self.fields["channel"].required = False
        self.fields["kind"].initial = RuleKind.THRESHOLD

    def clean_metric(self) -> str:
        name = (self.cleaned_data.get("metric") or "").strip().lower()
        if not name:
            return ""
        try:
            return m.resolve(name).name
        except m.UnknownMetric as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_recipients_text(self) -> list[str]:
        raw = self.cleaned_data.get("recipients_text") or ""
        addresses = [a.strip() for a in raw.replace(",", "\n").splitlines() if a.strip()]
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                bad.append(address)
        if bad:
            raise forms.ValidationError(f"Not an e-mail address: {', '.join(bad)}")
        if len(addresses) > MAX_RECIPIENTS:
            raise forms.ValidationError(f"At most {MAX_RECIPIENTS} recipients per rule.")
        return list(dict.fromkeys(addresses))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.pk is None:
            self._clean_plan_limit()
        kind = data.get("kind")
        # an anomaly rule without a metric follows every incident of the detector
        needs_metric = kind in (RuleKind.THRESHOLD, RuleKind.CHANGE)
        if needs_metric and not data.get("metric") and "metric" not in self.errors:
            self.add_error("metric", "Choose the metric this rule watches.")
        if kind in (RuleKind.THRESHOLD, RuleKind.CHANGE):
            self._clean_threshold(kind, data)
        if kind == RuleKind.DATA_HEALTH:
            self._clean_health(data)
        if kind == RuleKind.PACING:
            self._clean_pacing(data)
        self._clean_scope(data)
        self._clean_channel(data)
        metric = data.get("metric")
        if (
            metric
            and m.metric_sources(metric) != {"ads"}
            and data.get("scope_kind") in (ScopeKind.ACCOUNT, ScopeKind.CAMPAIGN)
        ):
            # Store and blended metrics (MER, store revenue…) exist for the whole workspace only.
            self.add_error("scope_kind", f"{m.metric_label(metric)} covers the whole store: watch it workspace-wide.")
        for name in ("min_spend", "min_conversions"):
            if data.get(name) is not None and data[name] < 0:
                self.add_error(name, "A minimum cannot be negative.")
        return data

    def _clean_plan_limit(self) -> None:
        """A new rule must fit the plan (billing's one entitlements function decides)."""
        try:
            check(connection.schema_name, "alert_rules", current=selectors.custom_rule_count())
        except EntitlementError as exc:
            raise forms.ValidationError(exc.message) from exc

    def _clean_threshold(self, kind: str, data: dict[str, Any]) -> None:
        threshold: Decimal | None = data.get("threshold")
        if threshold is None:
            self.add_error("threshold", "Give the threshold the metric is compared with.")
            return
        if kind == RuleKind.CHANGE:
            if threshold <= 0 or threshold > 1000:
                self.add_error("threshold", "A change is a percentage between 0 and 1000 (e.g. 20 for ±20 %).")
            return
        metric = data.get("metric")
        if not metric:
            return
        unit = m.metric_unit(metric)
        if threshold < 0 and unit in NON_NEGATIVE_UNITS:
            self.add_error("threshold", f"{m.metric_label(metric)} is never negative: this rule could never change.")
        elif unit == "percent" and threshold > 100:
            self.add_error("threshold", f"{m.metric_label(metric)} cannot exceed 100 %.")
        elif threshold == 0 and data.get("comparison") == "below":
            self.add_error("threshold", f"{m.metric_label(metric)} is never below 0: this rule could never fire.")

    def _clean_health(self, data: dict[str, Any]) -> None:
        check = data.get("health_check")
        if not check:
            self.add_error("health_check", "Choose what this data-health rule checks.")
        elif check == HealthCheck.STALE_DATA:
            hours = data.get("threshold")
            if hours is None or not 1 <= hours <= 24 * 30:
                self.add_error("threshold", "Give the age in hours after which data counts as stale (1 to 720).")

    def _clean_pacing(self, data: dict[str, Any]) -> None:
        data["metric"] = "spend"  # pacing is about spend against a spend budget
        budget: Decimal | None = data.get("monthly_budget")
        if budget is None or budget <= 0:
            self.add_error("monthly_budget", "Give the month's budget (more than 0) the spend is paced against.")
        elif budget > MAX_MONTHLY_BUDGET:
            self.add_error("monthly_budget", "That budget is larger than any month's spend could be.")
        tolerance: Decimal | None = data.get("threshold")
        if tolerance is None:
            data["threshold"] = Decimal(0)
        elif not 0 <= tolerance <= 100:
            self.add_error("threshold", "The tolerance is a percentage of the budget between 0 and 100.")

    def _clean_channel(self, data: dict[str, Any]) -> None:
        """E-mail needs nothing more; Slack and webhooks need a URL that passes the SSRF gate
        (https, resolvable, no private / loopback / link-local address). An edit may keep the URL."""
        channel, url = data.get("channel"), (data.get("webhook_url") or "").strip()
        data["webhook_url"] = url
        if channel not in (Channel.SLACK, Channel.WEBHOOK):
            return
        if data.get("recipients_text"):
            self.add_error("recipients_text", "E-mail recipients are for the e-mail channel; leave this empty.")
        if not url:
            if not self.instance.webhook_url:
                self.add_error("webhook_url", f"Give the URL {Channel(channel).label} messages are sent to.")
            return
        try:
            outbound.url_check(url)
        except outbound.UnsafeURL as exc:
            self.add_error("webhook_url", str(exc))

    def _clean_scope(self, data: dict[str, Any]) -> None:
        scope_kind, value = data.get("scope_kind"), (data.get("scope_value") or "").strip()
        data["scope_value"] = value
        if scope_kind == ScopeKind.WORKSPACE:
            data["scope_value"] = ""
            return
        if not value:
            self.add_error("scope_value", "Say which platform, account or campaigns this rule is about.")
            return
        if not selectors.scope_matches(scope_kind=scope_kind, scope_value=value):
            self.add_error(
                "scope_value", f"No {ScopeKind(scope_kind).label.lower()} matches “{value}” in this workspace."
            )

    def save(self, commit: bool = True) -> AlertRule:
        data = self.cleaned_data
        self.instance.recipients = data.get("recipients_text") or []
        if data.get("channel") == Channel.EMAIL:
            self.instance.webhook_url = self.instance.webhook_secret = ""  # no credential kept for nothing
        elif data.get("webhook_url"):
            self.instance.webhook_url = data["webhook_url"]
        if data.get("channel") != Channel.WEBHOOK:
            self.instance.webhook_secret = ""
        return super().save(commit=commit)
