"""The Celery application: Redis broker, django-celery-beat scheduler, schedule from bosco.beat."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bosco.settings.development")

app = Celery("bosco")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_beat_schedule(sender: Celery, **_: object) -> None:
    # Imported late: the schedule names tasks, which import models.
    from bosco.beat import BEAT_SCHEDULE

    sender.conf.beat_schedule = BEAT_SCHEDULE
