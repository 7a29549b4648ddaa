"""Output serializers of the connections API. Tokens, scopes and OAuth state are never fields."""

from __future__ import annotations

from rest_framework import serializers

from connectors.models import Connection, Platform, SyncRun


class SyncRunOut(serializers.Serializer):
    id = serializers.IntegerField()
    connection = serializers.IntegerField(source="connection_id")
    kind = serializers.ChoiceField(choices=SyncRun.Kind.choices)
    status = serializers.ChoiceField(choices=SyncRun.Status.choices)
    window_start = serializers.DateField(allow_null=True, help_text="First day the run reads.")
    window_end = serializers.DateField(allow_null=True, help_text="Last day the run reads.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField()
    progress_percent = serializers.FloatField()
    pages = serializers.IntegerField()
    rows = serializers.IntegerField(help_text="Records read from the platform.")
    rows_inserted = serializers.IntegerField()
    rows_updated = serializers.IntegerField()
    api_calls = serializers.IntegerField()
    retries = serializers.IntegerField()
    note = serializers.CharField(allow_blank=True, help_text="What the run is waiting for, if anything.")
    error_code = serializers.CharField(allow_blank=True)
    error_message = serializers.CharField(allow_blank=True, help_text="Written for people; never contains a token.")


class ConnectionAccountOut(serializers.Serializer):
    id = serializers.CharField(help_text="The platform's account id, as the platform shows it.")
    account = serializers.CharField(help_text="`platform:account_id`, as in metrics and campaigns.")
    name = serializers.CharField(allow_blank=True)
    currency = serializers.CharField(allow_blank=True)
    time_zone = serializers.CharField(allow_blank=True)
    selected = serializers.BooleanField(help_text="Only selected accounts are synced.")
    accessible = serializers.BooleanField(help_text="False when the sign-in no longer reaches it.")


class ConnectionOut(serializers.Serializer):
    id = serializers.IntegerField()
    platform = serializers.ChoiceField(choices=Platform.choices)
    # DRF's metaclass takes declared fields off the class, so this does not shadow Field.label.
    label = serializers.CharField(allow_blank=True)  # type: ignore[assignment]
    status = serializers.ChoiceField(choices=Connection.Status.choices)
    status_message = serializers.CharField(allow_blank=True, help_text="Why it needs attention, if it does.")
    accounts = ConnectionAccountOut(many=True)
    sync_interval_hours = serializers.IntegerField()
    lookback_days = serializers.IntegerField(help_text="Days re-read on every sync (platform restatements).")
    backfill_days = serializers.IntegerField()
    last_sync_at = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    next_sync_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    active_run = SyncRunOut(allow_null=True, help_text="The queued or running sync, if any.")
    last_run = SyncRunOut(allow_null=True, help_text="The most recent sync.")
