"""Reads of the workspace's lift tests (experiments that calibrate the budget curves)."""

from __future__ import annotations

from typing import Any

from insights.ml.response import LiftTest
from insights.models import BudgetLiftTest


def budget_lift_tests(*, target: str | None = None) -> list[BudgetLiftTest]:
    """The current workspace's lift tests, newest first; only those of `target` when given."""
    tests = BudgetLiftTest.objects.all()
    if target is not None:
        tests = tests.filter(target=target)
    return list(tests.order_by("-end", "-pk"))


def lift_tests_for_fit(*, target: str, channels: list[str]) -> tuple[list[LiftTest], list[int]]:
    """The tests the budget fit of `target` over `channels` uses, as the model takes them, and their ids."""
    rows = [t for t in budget_lift_tests(target=target) if t.channel in channels]
    return (
        [LiftTest(t.channel, t.spend_before, t.spend_after, t.lift, t.lift_sd) for t in rows],
        sorted(t.pk for t in rows),
    )


def lift_test_rows(*, target: str, labels: dict[str, str]) -> list[dict[str, Any]]:
    """The planner page's list: each test of `target` with its channel's label and spend change."""
    return [
        {"test": t, "label": labels.get(t.channel, t.channel), "change": t.spend_after - t.spend_before}
        for t in budget_lift_tests(target=target)
    ]
