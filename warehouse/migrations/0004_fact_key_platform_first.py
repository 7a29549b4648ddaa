"""Reorder the fact's primary key to (platform, account_id, date_day, campaign_id, ad_group_id).

A window run reads and writes one platform's accounts over some days; with the day first, every
such read also walked the other platforms' rows of those days (5× here). Django cannot alter a
composite primary key itself, so the database change is SQL and the state change is declared.
"""

from django.db import migrations, models

FORWARD = """
ALTER TABLE fct_ad_performance_daily
  DROP CONSTRAINT fct_ad_performance_daily_pkey,
  ADD CONSTRAINT fct_ad_performance_daily_pkey PRIMARY KEY (platform, account_id, date_day, campaign_id, ad_group_id)
"""
BACKWARD = """
ALTER TABLE fct_ad_performance_daily
  DROP CONSTRAINT fct_ad_performance_daily_pkey,
  ADD CONSTRAINT fct_ad_performance_daily_pkey PRIMARY KEY (date_day, platform, account_id, campaign_id, ad_group_id)
"""


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0003_seed_platforms")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.AlterField(
                    model_name="adperformancedaily",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "platform",
                        "account_id",
                        "date_day",
                        "campaign_id",
                        "ad_group_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
            ],
        ),
    ]
