"""Built-in data-health rules: every workspace has them from its first day.

Migrations run in the workspace template too, so new workspaces (copies of the template) start
with these rows. They notify the owners and admins (empty recipients) and can be muted, not deleted.
"""

from django.db import migrations

BUILTIN = (
    ("A connection needs re-authorisation", "needs_reauth", None),
    ("A sync failed", "sync_failed", None),
    ("Data is more than 36 hours old", "stale_data", 36),
    ("A data test failed or rows were quarantined", "data_tests", None),
)


def create_builtin_rules(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for name, check, threshold in BUILTIN:
        AlertRule.objects.get_or_create(
            builtin=True,
            health_check=check,
            defaults={"name": name, "kind": "data_health", "threshold": threshold, "window_days": 1},
        )


def remove_builtin_rules(apps, schema_editor):
    apps.get_model("alerts", "AlertRule").objects.filter(builtin=True).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [migrations.RunPython(create_builtin_rules, remove_builtin_rules)]
