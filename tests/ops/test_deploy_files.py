"""The container definitions agree with the code: every Celery queue Bosco routes to has a worker in
deploy/compose.yaml, exactly one beat runs, PgBouncer pools by session, and every Bosco process is
built from the same image. (The VM has no container engine; docs/deploy.md "Containers".)"""

from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings

from bosco.queues import GROUPS

DEPLOY = Path(settings.BASE_DIR) / "deploy"


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_every_routed_queue_has_a_worker_and_one_beat_runs() -> None:
    services = _compose()["services"]
    consumed: set[str] = set()
    beats = 0
    for service in services.values():
        command = service.get("command", [])
        if command[:4] == ["celery", "-A", "bosco", "worker"]:
            consumed |= set(command[command.index("-Q") + 1].split(","))
        if command[:4] == ["celery", "-A", "bosco", "beat"]:
            beats += 1
    assert beats == 1
    # The production base name is the default `bosco` (tests run under their own names).
    assert consumed == {"bosco", *(f"bosco.{group}" for group in GROUPS)}


def test_processes_share_one_image_and_reach_postgres_through_session_pooling() -> None:
    services = _compose()["services"]
    bosco = [name for name, s in services.items() if s.get("image") == "bosco:latest"]
    assert {"web", "beat", "bootstrap", "worker-fast", "worker-syncs", "worker-heavy"} <= set(bosco)
    for name in bosco:
        url = services[name]["environment"]["DATABASE_URL"]
        # Only the deploy step talks to PostgreSQL directly (migrations take advisory locks).
        assert ("@postgres:5432/" in url) if name == "bootstrap" else ("@pgbouncer:6432/" in url), name
    assert services["pgbouncer"]["environment"]["PGBOUNCER_POOL_MODE"] == "session"
    ini = (DEPLOY / "pgbouncer.ini").read_text()
    assert "\npool_mode = session\n" in ini
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py", "bosco.wsgi"]' in (DEPLOY / "Containerfile").read_text()
