"""Lift tests: experiment results the team enters on the planner page; the budget fit uses them."""

from __future__ import annotations

import math
from datetime import date

from django.db import transaction

from insights.models import BudgetLiftTest
from insights.services.common import InsightsError

LIFT_TARGETS = ("conversion_value", "conversions")
_MAX_AMOUNT = 1e12  # per day: larger is a typing mistake, not an experiment


def _number(value: float | None, what: str) -> float:
    if value is None or not math.isfinite(float(value)):
        raise InsightsError(f"Enter the {what} as a number.")
    if abs(float(value)) > _MAX_AMOUNT:
        raise InsightsError(f"The {what} is too large to be a daily figure.")
    return float(value)


@transaction.atomic
def budget_lift_test_add(
    *,
    channel: str,
    target: str,
    start: date | None,
    end: date | None,
    spend_before: float | None,
    spend_after: float | None,
    lift: float | None,
    lift_sd: float | None,
    channels: list[str],
    note: str = "",
    user_id: int | None = None,
) -> BudgetLiftTest:
    """Record one experiment (amounts per day). `channels` are the planner's channels: a test on
    anything else could never calibrate a curve. Raises InsightsError with a reason to show."""
    if channel not in channels:
        raise InsightsError("Choose the channel the test ran on.")
    if target not in LIFT_TARGETS:
        raise InsightsError("A lift test measures revenue or conversions.")
    if start is None or end is None:
        raise InsightsError("Enter the dates the test ran.")
    if end < start:
        raise InsightsError("A test cannot end before it starts.")
    before = _number(spend_before, "spend per day before the test")
    after = _number(spend_after, "spend per day during the test")
    gained = _number(lift, "measured lift per day")
    error = _number(lift_sd, "standard error of the lift")
    if before < 0 or after < 0:
        raise InsightsError("Spend cannot be negative.")
    if before == after:
        raise InsightsError("The spend during the test must differ from the spend before it: it measured no change.")
    if error <= 0:
        raise InsightsError("The standard error of the lift must be greater than zero.")
    note = (note or "").strip()
    if "\x00" in note:
        raise InsightsError("The note cannot contain a NUL character.")
    return BudgetLiftTest.objects.create(
        channel=channel,
        target=target,
        start=start,
        end=end,
        spend_before=before,
        spend_after=after,
        lift=gained,
        lift_sd=error,
        note=note[:200],
        created_by_id=user_id,
    )


@transaction.atomic
def budget_lift_test_delete(*, pk: int) -> bool:
    deleted, _ = BudgetLiftTest.objects.filter(pk=pk).delete()
    return bool(deleted)
