"""What the warehouse announces to the apps above it (they connect in their `AppConfig.ready`)."""

from __future__ import annotations

from django.dispatch import Signal

#: A transformation run of this workspace finished (success or failure) and was recorded; sent in
#: the current schema, maybe inside a transaction (a receiver that queues work uses on-commit).
#: Keyword arguments: `run_id`, `status`. Sender: the TransformRun class.
warehouse_run_finished = Signal()
