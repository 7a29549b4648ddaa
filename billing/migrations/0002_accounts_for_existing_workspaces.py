"""Workspaces created before billing existed get an account: a fresh trial if they were on the
trial, otherwise their plan as granted (they never paid through Stripe, so nothing is taken away)."""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

PAID = ("starter", "growth", "agency")


def create_accounts(apps, schema_editor):
    Workspace = apps.get_model("accounts", "Workspace")
    BillingAccount = apps.get_model("billing", "BillingAccount")
    now = timezone.now()
    for workspace in Workspace.objects.exclude(schema_name="public").filter(billing__isnull=True):
        if workspace.plan in PAID:
            BillingAccount.objects.create(workspace=workspace, plan=workspace.plan, status="comped")
        else:
            BillingAccount.objects.create(
                workspace=workspace, plan="growth", status="trialing", trial_end=now + timedelta(days=14)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("accounts", "0004_workspace_number_format"),
    ]

    operations = [migrations.RunPython(create_accounts, migrations.RunPython.noop)]
