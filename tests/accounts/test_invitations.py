"""Invitations by e-mail, accepted once, expiring; roles decide who may do what."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, Membership
from accounts.roles import Permission, Role, role_can

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(make_workspace):
    return make_workspace("acme")


@pytest.fixture
def owner(acme):
    return Membership.objects.get(workspace=acme)


def _invite_link(body: str) -> str:
    match = re.search(r"https?://\S+/invitations/\S+/", body)
    assert match, body
    return urlsplit(match.group(0)).path


def test_owner_invites_by_email_and_invitee_joins_once(
    acme, owner, make_user, workspace_client, django_capture_on_commit_callbacks
) -> None:
    client = workspace_client(owner.user, acme)
    with django_capture_on_commit_callbacks(execute=True):  # the mail leaves only after commit
        response = client.post("/settings/team/invite/", {"email": "Analyst@Example.com", "role": "analyst"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["analyst@example.com"]
    path = _invite_link(mail.outbox[0].body)
    invitation = Invitation.objects.get(workspace=acme)
    assert path.split("/")[-2] not in invitation.token_hash  # only the hash is stored

    invitee = make_user("analyst@example.com")
    invitee_client = workspace_client(invitee)
    assert b"Join Acme" in invitee_client.get(path).content
    response = invitee_client.post(path)
    assert response.status_code == 302 and f"acme.{settings.BOSCO_DOMAIN}" in response["Location"]
    assert Membership.objects.get(workspace=acme, user=invitee).role == Role.ANALYST

    # Reused: refused with a reason.
    response = invitee_client.post(path)
    assert response.status_code == 410 and b"already been used" in response.content


def test_expired_invitation_is_refused(acme, owner, make_user, workspace_client) -> None:
    _, token = services.invitation_create(workspace=acme, invited_by=owner, email="late@example.com", role="viewer")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    client = workspace_client(make_user("late@example.com"))
    response = client.post(f"/invitations/{token}/")
    assert response.status_code == 410 and b"expired" in response.content
    assert not Membership.objects.filter(user__email="late@example.com").exists()


def test_invitation_for_someone_else_is_refused(acme, owner, make_user, workspace_client) -> None:
    _, token = services.invitation_create(workspace=acme, invited_by=owner, email="right@example.com", role="viewer")
    client = workspace_client(make_user("wrong@example.com"))
    response = client.post(f"/invitations/{token}/")
    assert response.status_code == 403
    assert b"sent to right@example.com" in response.content
    assert Invitation.objects.get().accepted_at is None


def test_unknown_and_withdrawn_tokens_are_refused(acme, owner, make_user, workspace_client) -> None:
    client = workspace_client(make_user("x@example.com"))
    assert client.get("/invitations/not-a-token/").status_code == 410
    invitation, token = services.invitation_create(
        workspace=acme, invited_by=owner, email="x@example.com", role="viewer"
    )
    services.invitation_revoke(invitation_id=invitation.pk, workspace=acme, actor=owner)
    response = client.post(f"/invitations/{token}/")
    assert response.status_code == 410 and b"withdrawn" in response.content


def test_reinviting_replaces_the_open_invitation(acme, owner) -> None:
    _, first = services.invitation_create(workspace=acme, invited_by=owner, email="re@example.com", role="viewer")
    _, second = services.invitation_create(workspace=acme, invited_by=owner, email="re@example.com", role="analyst")
    with pytest.raises(services.AccountsError, match="withdrawn"):
        services.invitation_lookup(token=first)
    assert services.invitation_lookup(token=second).role == "analyst"


def test_inviting_an_existing_member_or_a_bad_address_is_refused(acme, owner) -> None:
    with pytest.raises(services.AccountsError, match="already a member"):
        services.invitation_create(workspace=acme, invited_by=owner, email=owner.user.email, role="viewer")
    with pytest.raises(services.AccountsError, match="valid e-mail"):
        services.invitation_create(workspace=acme, invited_by=owner, email="not-an-address", role="viewer")


def test_anonymous_visitor_sees_invitation_and_is_asked_to_sign_in(acme, owner) -> None:
    _, token = services.invitation_create(workspace=acme, invited_by=owner, email="new@example.com", role="viewer")
    page = Client(HTTP_HOST=settings.BOSCO_DOMAIN).get(f"/invitations/{token}/")
    assert page.status_code == 200
    assert b"Create account" in page.content and b"new@example.com" in page.content


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.OWNER, True), (Role.ADMIN, True), (Role.ANALYST, False), (Role.VIEWER, False)],
)
def test_only_owners_and_admins_invite(acme, make_user, workspace_client, role, allowed) -> None:
    member = make_user(f"{role}@example.com")
    Membership.objects.create(user=member, workspace=acme, role=role)
    response = workspace_client(member, acme).post(
        "/settings/team/invite/", {"email": "new@example.com", "role": "viewer"}
    )
    assert Invitation.objects.filter(email="new@example.com").exists() is allowed
    assert response.status_code == (302 if allowed else 400)


def test_admin_cannot_make_owners(acme, make_user) -> None:
    admin = Membership.objects.create(user=make_user("admin@example.com"), workspace=acme, role=Role.ADMIN)
    with pytest.raises(services.AccountsError, match="cannot give the owner role"):
        services.invitation_create(workspace=acme, invited_by=admin, email="boss@example.com", role=Role.OWNER)
    viewer = Membership.objects.create(user=make_user("v@example.com"), workspace=acme, role=Role.VIEWER)
    with pytest.raises(services.AccountsError):
        services.membership_change_role(membership_id=viewer.pk, workspace=acme, actor=admin, role=Role.OWNER)
    services.membership_change_role(membership_id=viewer.pk, workspace=acme, actor=admin, role=Role.ANALYST)
    viewer.refresh_from_db()
    assert viewer.role == Role.ANALYST


def test_last_owner_cannot_leave_or_be_demoted(acme, owner, make_user) -> None:
    with pytest.raises(services.AccountsError, match="at least one owner"):
        services.membership_remove(membership_id=owner.pk, workspace=acme, actor=owner)
    with pytest.raises(services.AccountsError, match="at least one owner"):
        services.membership_change_role(membership_id=owner.pk, workspace=acme, actor=owner, role=Role.ADMIN)
    second = Membership.objects.create(user=make_user("co@example.com"), workspace=acme, role=Role.OWNER)
    services.membership_remove(membership_id=owner.pk, workspace=acme, actor=owner)
    assert list(Membership.objects.filter(workspace=acme)) == [second]


def test_member_ids_of_another_workspace_are_not_found(make_workspace, acme, owner) -> None:
    globex = make_workspace("globex")
    foreign = Membership.objects.get(workspace=globex)
    with pytest.raises(services.AccountsError, match="not in this workspace"):
        services.membership_remove(membership_id=foreign.pk, workspace=acme, actor=owner)
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_role_permissions_are_nested() -> None:
    for permission in Permission:
        grants = [role_can(role, permission) for role in (Role.VIEWER, Role.ANALYST, Role.ADMIN, Role.OWNER)]
        assert grants == sorted(grants), permission  # a higher role never has less
    assert role_can(Role.OWNER, Permission.MANAGE_BILLING) and not role_can(Role.ADMIN, Permission.MANAGE_BILLING)


def test_expire_invitations_marks_only_expired_ones(acme, owner) -> None:
    services.invitation_create(workspace=acme, invited_by=owner, email="a@example.com", role="viewer")
    services.invitation_create(workspace=acme, invited_by=owner, email="b@example.com", role="viewer")
    Invitation.objects.filter(email="a@example.com").update(expires_at=timezone.now() - timedelta(days=1))
    assert services.invitations_expire() == 1
    assert Invitation.objects.get(email="b@example.com").revoked_at is None
