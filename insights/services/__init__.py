"""Writes of the insights app: nightly scoring, attribution imports, budget curves and scenarios.

Every function runs inside the current workspace's schema (a tenant task or a workspace
request put it there) and reads metrics only through the warehouse metrics layer
(`insights.selectors.series`). Model code lives in `insights.ml`; what it trained is recorded in the
registry (`ModelVersion`) and every stored prediction names its version.

    services.score_workspace_nightly(as_of=None)            # the nightly task's one call
    services.import_attribution_csv(data=..., filename=...)  # -> (AttributionImport, created)
    services.plan_budget_for_workspace(PlannerInput(...))    # curves of today, then the allocation
    services.budget_curves_fit(scope="platform", target=None)
    services.prune_model_versions()                          # registry retention (nightly, after scoring)
"""

from insights.services.attribution import HALF_LIFE_DAYS, attribution_import_delete, import_attribution_csv
from insights.services.budget import (
    BUDGET_HISTORY_DAYS,
    BUDGET_MIN_ACTIVE_DAYS,
    BUDGET_MIN_DAYS,
    BUDGET_TARGETS,
    PlannerInput,
    PlannerView,
    budget_curves_fit,
    budget_curves_get_or_fit,
    budget_default_target,
    budget_scenario_delete,
    budget_scenario_save,
    plan_budget_for_workspace,
)
from insights.services.common import (
    InsightsError,
    WorkspaceContext,
    current_workspace,
    model_version_record,
    prune_model_versions,
)
from insights.services.events import workspace_event_add, workspace_event_delete
from insights.services.scoring import (
    ANOMALY_METRICS,
    ANOMALY_MIN_DAYS,
    ANOMALY_REPORT_DAYS,
    ANOMALY_WARMUP_DAYS,
    FORECAST_HORIZON,
    FORECAST_METRICS,
    ScoringReport,
    score_workspace_nightly,
)

__all__ = [
    "ANOMALY_METRICS",
    "ANOMALY_MIN_DAYS",
    "ANOMALY_REPORT_DAYS",
    "ANOMALY_WARMUP_DAYS",
    "BUDGET_HISTORY_DAYS",
    "BUDGET_MIN_ACTIVE_DAYS",
    "BUDGET_MIN_DAYS",
    "BUDGET_TARGETS",
    "FORECAST_HORIZON",
    "FORECAST_METRICS",
    "HALF_LIFE_DAYS",
    "InsightsError",
    "PlannerInput",
    "PlannerView",
    "ScoringReport",
    "WorkspaceContext",
    "attribution_import_delete",
    "budget_curves_fit",
    "budget_curves_get_or_fit",
    "budget_default_target",
    "budget_scenario_delete",
    "budget_scenario_save",
    "current_workspace",
    "import_attribution_csv",
    "model_version_record",
    "plan_budget_for_workspace",
    "prune_model_versions",
    "score_workspace_nightly",
    "workspace_event_add",
    "workspace_event_delete",
]
