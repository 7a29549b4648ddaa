"""Seed the platform dimension; rows travel to new workspaces with the template copy."""

from django.db import migrations

# Restatement windows: Meta freezes insights after ~28 days, Google Ads conversion windows run
# to 30 days by default, TikTok ~3 (the brief's figures). Microsoft Advertising and LinkedIn
# default to 30-day conversion windows; until their connectors say otherwise, 30 it is.
PLATFORMS = [
    ("google_ads", "Google Ads", 30),
    ("meta", "Meta Ads", 28),
    ("tiktok", "TikTok Ads", 3),
    ("microsoft_ads", "Microsoft Advertising", 30),
    ("linkedin_ads", "LinkedIn Ads", 30),
]


def seed(apps, schema_editor):
    Platform = apps.get_model("warehouse", "Platform")
    for code, name, days in PLATFORMS:
        Platform.objects.update_or_create(code=code, defaults={"name": name, "restatement_days": days})


def unseed(apps, schema_editor):
    apps.get_model("warehouse", "Platform").objects.filter(code__in=[p[0] for p in PLATFORMS]).delete()


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0002_unified_model")]

    operations = [migrations.RunPython(seed, unseed)]
