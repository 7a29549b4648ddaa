"""Transformation settings: code defaults, overridable per workspace (table `wh_setting`).

Kept as data, not code, because they are business choices a workspace may make differently —
which Meta action types count as a conversion, how stale an FX rate may be, when a data test
should warn — and every SQL model receives them as query parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from warehouse.models import TransformSetting

DEFAULTS: dict[str, Any] = {
    # Meta reports one purchase under several aliases with the same value. Each group is one
    # event: the first alias present in a row is counted, aliases are never added. Groups are
    # added together (e.g. add [["lead", "offsite_conversion.fb_pixel_lead"]] to count leads).
    "meta.conversion_action_groups": [["omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase"]],
    # A day without a published ECB rate (weekend, holiday, today before 16:00 CET) uses the
    # last earlier rate, at most this many days older; beyond that the row is quarantined.
    "fx.max_fallback_days": 10,
    # Warn when no successful sync arrived for a connection for this long.
    "quality.freshness_warn_hours": 36,
    # Warn when an account's newest day is this many days behind its own today.
    "quality.data_lag_warn_days": 3,
    # Warn when a sync's rows per day differ from the previous sync's by more than this factor.
    "quality.volume_change_warn_factor": 2.0,
    # Restatement log rows older than this are pruned by the nightly checks.
    "restatements.retention_days": 400,
}


@dataclass(frozen=True)
class MetaConversionTypes:
    """Flattened alias groups, as the staging SQL receives them (three parallel arrays)."""

    action_types: list[str]
    groups: list[int]
    priorities: list[int]


def setting(key: str) -> Any:
    if key not in DEFAULTS:
        raise KeyError(f"unknown warehouse setting {key!r}")
    row = TransformSetting.objects.filter(key=key).first()
    return row.value if row is not None else DEFAULTS[key]


@transaction.atomic
def setting_set(*, key: str, value: Any) -> None:
    """Override a default for this workspace; validated so a typo cannot break every run."""
    if key not in DEFAULTS:
        raise KeyError(f"unknown warehouse setting {key!r}")
    if key == "meta.conversion_action_groups":
        meta_conversion_types(value)
    elif not isinstance(value, type(DEFAULTS[key])) and not (
        isinstance(DEFAULTS[key], float) and isinstance(value, int)
    ):
        raise ValueError(f"{key} must be a {type(DEFAULTS[key]).__name__}")
    TransformSetting.objects.update_or_create(key=key, defaults={"value": value, "updated_at": timezone.now()})


def meta_conversion_types(groups: Any | None = None) -> MetaConversionTypes:
    groups = setting("meta.conversion_action_groups") if groups is None else groups
    if not isinstance(groups, list) or not groups:
        raise ValueError("meta.conversion_action_groups must be a non-empty list of alias lists")
    types: list[str] = []
    group_numbers: list[int] = []
    priorities: list[int] = []
    for g, aliases in enumerate(groups):
        if not isinstance(aliases, list) or not aliases or not all(isinstance(a, str) and a for a in aliases):
            raise ValueError("each conversion group must be a non-empty list of action type names")
        for p, alias in enumerate(aliases):
            if alias in types:
                raise ValueError(f"action type {alias!r} appears in two groups; it would be counted twice")
            types.append(alias)
            group_numbers.append(g)
            priorities.append(p)
    return MetaConversionTypes(types, group_numbers, priorities)


def model_parameters() -> dict[str, Any]:
    """The settings every SQL model may reference, as named query parameters."""
    meta = meta_conversion_types()
    return {
        "meta_action_types": meta.action_types,
        "meta_action_groups": meta.groups,
        "meta_action_priorities": meta.priorities,
        "fx_max_fallback_days": int(setting("fx.max_fallback_days")),
    }
