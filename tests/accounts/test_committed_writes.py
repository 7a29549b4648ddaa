"""The account services that lock rows or defer work to commit, run with real commits.

Every other accounts test runs inside a transaction that is rolled back at the end, where a
`select_for_update` outside an atomic block cannot fail and `on_commit` callbacks never fire.
Here each call commits (transactional test database), and the concurrency cases run two
threads, each with its own database connection, against the same rows.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connections, transaction

from accounts import services
from accounts.models import Invitation, Membership, Workspace
from accounts.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)


def _owner_membership(workspace: Workspace) -> Membership:
    return Membership.objects.select_related("user").get(workspace=workspace, role=Role.OWNER)


def _at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads that start together; each result is a return value or the exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # the outcome under test, reported to the main thread
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_saving_workspace_settings_commits_outside_any_transaction(make_workspace) -> None:
    workspace = make_workspace("commit-settings")
    services.workspace_update(
        workspace=workspace,
        actor_membership=_owner_membership(workspace),
        name="Renamed",
        reporting_currency="EUR",
        time_zone="Europe/Lisbon",
        number_format="fr-FR",
    )
    saved = Workspace.objects.get(pk=workspace.pk)
    assert (saved.name, saved.time_zone, saved.number_format) == ("Renamed", "Europe/Lisbon", "fr-FR")


def test_a_refused_settings_change_leaves_the_committed_row_alone(make_workspace) -> None:
    workspace = make_workspace("commit-refused")
    with pytest.raises(services.AccountsError):
        services.workspace_update(
            workspace=workspace,
            actor_membership=_owner_membership(workspace),
            name="Renamed",
            reporting_currency="XXX",
            time_zone="UTC",
        )
    assert Workspace.objects.get(pk=workspace.pk).name == workspace.name


def test_an_invitation_mail_leaves_only_when_the_invitation_is_committed(make_workspace) -> None:
    workspace = make_workspace("commit-invite")
    owner = _owner_membership(workspace)
    mail.outbox.clear()
    with transaction.atomic():
        services.invitation_create(
            workspace=workspace,
            invited_by=owner,
            email="ghost@example.com",
            role=Role.ANALYST,
            accept_url_for=lambda token: f"https://example.test/{token}/",
        )
        transaction.set_rollback(True)  # the request failed after the invitation was made
    assert mail.outbox == [] and not Invitation.objects.filter(email="ghost@example.com").exists()

    services.invitation_create(
        workspace=workspace,
        invited_by=owner,
        email="real@example.com",
        role=Role.ANALYST,
        accept_url_for=lambda token: f"https://example.test/{token}/",
    )
    assert [m.to for m in mail.outbox] == [["real@example.com"]]


def test_two_tabs_accepting_one_invitation_at_once_make_one_membership(make_workspace, make_user) -> None:
    workspace = make_workspace("commit-accept")
    invitee = make_user("invitee@example.com")
    _, token = services.invitation_create(
        workspace=workspace, invited_by=_owner_membership(workspace), email=invitee.email, role=Role.VIEWER
    )
    results = _at_once(
        lambda: services.invitation_accept(token=token, user=invitee),
        lambda: services.invitation_accept(token=token, user=invitee),
    )
    accepted = [r for r in results if isinstance(r, Membership)]
    refused = [r for r in results if isinstance(r, services.AccountsError)]
    assert len(accepted) == 1 and len(refused) == 1, results
    assert "already been used" in refused[0].message
    assert Membership.objects.filter(workspace=workspace, user=invitee).count() == 1
    assert Invitation.objects.get(workspace=workspace).accepted_by == invitee


def test_role_change_and_removal_are_committed(make_workspace, make_user) -> None:
    workspace = make_workspace("commit-team")
    owner = _owner_membership(workspace)
    member = Membership.objects.create(workspace=workspace, user=make_user("member@example.com"), role=Role.VIEWER)
    services.membership_change_role(membership_id=member.pk, workspace=workspace, actor=owner, role=Role.ADMIN)
    assert Membership.objects.get(pk=member.pk).role == Role.ADMIN
    services.membership_remove(membership_id=member.pk, workspace=workspace, actor=owner)
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_the_last_owner_cannot_step_down_with_real_commits(make_workspace) -> None:
    workspace = make_workspace("commit-last-owner")
    owner = _owner_membership(workspace)
    with pytest.raises(services.AccountsError, match="at least one owner"):
        services.membership_remove(membership_id=owner.pk, workspace=workspace, actor=owner)
    assert Membership.objects.filter(pk=owner.pk, role=Role.OWNER).exists()


@pytest.fixture
def owner_check_meets_its_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the worst interleaving: each thread reaches the "another owner?" check, holding what it
    has locked so far, before either goes on. A thread kept waiting on a lock never arrives, so the
    other goes on after a short wait (the check itself is the real one)."""
    barrier = threading.Barrier(2)
    check = services._ensure_another_owner

    def met(**kwargs: Any) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        check(**kwargs)

    monkeypatch.setattr(services, "_ensure_another_owner", met)


def _second_owner(workspace: Workspace, make_user: Callable[..., Any]) -> Membership:
    created = Membership.objects.create(workspace=workspace, user=make_user("second@example.com"), role=Role.OWNER)
    return Membership.objects.select_related("user").get(pk=created.pk)


def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    make_workspace, make_user, owner_check_meets_its_twin
) -> None:
    workspace = make_workspace("commit-two-owners")
    first, second = _owner_membership(workspace), _second_owner(workspace, make_user)
    results = _at_once(
        lambda: services.membership_change_role(
            membership_id=second.pk, workspace=workspace, actor=first, role=Role.ADMIN
        ),
        lambda: services.membership_change_role(
            membership_id=first.pk, workspace=workspace, actor=second, role=Role.ADMIN
        ),
    )
    changed = [r for r in results if isinstance(r, Membership)]
    refused = [r for r in results if isinstance(r, services.AccountsError)]
    assert len(changed) == 1 and len(refused) == 1, results
    assert "at least one owner" in refused[0].message
    assert Membership.objects.filter(workspace=workspace, role=Role.OWNER).count() == 1


def test_two_owners_leaving_at_once_leave_one_owner(make_workspace, make_user, owner_check_meets_its_twin) -> None:
    workspace = make_workspace("commit-two-leave")
    first, second = _owner_membership(workspace), _second_owner(workspace, make_user)
    results = _at_once(
        lambda: services.membership_remove(membership_id=first.pk, workspace=workspace, actor=first),
        lambda: services.membership_remove(membership_id=second.pk, workspace=workspace, actor=second),
    )
    refused = [r for r in results if isinstance(r, services.AccountsError)]
    assert results.count(None) == 1 and len(refused) == 1, results
    assert "at least one owner" in refused[0].message
    assert Membership.objects.filter(workspace=workspace, role=Role.OWNER).count() == 1
