"""What billing announces to the apps above it (they connect in their `AppConfig.ready`)."""

from __future__ import annotations

from django.dispatch import Signal

#: Support changed a workspace's billing by hand (extend a trial, grant a plan), recorded in
#: BillingChange; sent inside that transaction so the support console's audit log records the
#: same action with it (or neither). Keyword arguments: `workspace`, `actor`, `action`,
#: `reason`, `before`, `after`. Sender: the BillingChange class.
support_change_made = Signal()
