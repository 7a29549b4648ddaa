from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_workspace_number_format"),
    ]

    operations = [
        migrations.AddField(
            model_name="workspace",
            name="holiday_country",
            field=models.CharField(blank=True, default="", max_length=10),
        ),
    ]
