from datetime import UTC, datetime, timedelta

from django.db import migrations, models


def assume_yesterday_scored(apps, schema_editor):
    """Workspaces that exist at deploy were scored last night by the old fan-out (04:xx local); without
    this, the first hourly run after the deploy would queue every one of them at once. A day assumed
    scored is not lost: each run re-scores the whole report window."""
    Workspace = apps.get_model("accounts", "Workspace")
    Workspace.objects.update(scored_through=datetime.now(tz=UTC).date() - timedelta(days=1))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_workspace_holiday_country"),
    ]

    operations = [
        migrations.AddField(
            model_name="workspace",
            name="complete_through",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="workspace",
            name="scored_through",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.RunPython(assume_yesterday_scored, migrations.RunPython.noop, elidable=True),
    ]
