"""Members and invitations (CONTRACT §5.1, owners only): invite by email with
a role, accept once, expiry, role changes, removal, the last owner."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_scopes import scopes_disabled

pytestmark = pytest.mark.django_db

PASSWORD = "un-velero-en-la-bahia"


def _invite(client, email, role, capture):
    with capture(execute=True):
        response = client.post("/api/v1/members/", {"email": email, "role": role}, format="json")
    return response


def _token_from_mail(email: str) -> str:
    message = next(m for m in reversed(mail.outbox) if m.to == [email])
    match = re.search(r"/console/invitations/([A-Za-z0-9_-]{20,})", message.body)
    assert match, message.body
    return match.group(1)


def test_role_matrix(make_agency, role_matrix, django_capture_on_commit_callbacks):
    a = make_agency()
    # Admins read the team (the console shows it to them); changes are the owners'.
    listed = role_matrix(a, "admin", lambda c, role: c.get("/api/v1/members/"))
    members = listed["owner"].json()["results"]
    assert {m["role"] for m in members} == {"owner", "admin", "agent", "viewer"}
    assert all({"id", "role", "created", "user"} <= set(m) for m in members)
    role_matrix(a, "owner", lambda c, role: _invite(c, f"nuevo-{role}@x.example", "agent",
                                                     django_capture_on_commit_callbacks), ok=(201,))
    target = next(m for m in members if m["role"] == "viewer")
    role_matrix(a, "owner", lambda c, role: c.patch(f"/api/v1/members/{target['id']}/", {"role": "viewer"},
                                                     format="json"))
    role_matrix(a, "owner", lambda c, role: c.delete(f"/api/v1/members/{target['id']}/"), ok=(204, 404))


def test_invitation_email_accept_once_and_login(make_agency, login, api, settings, django_capture_on_commit_callbacks):
    from tenancy.models import Invitation, Membership, User

    settings.PUBLIC_BASE_URL = "https://app.markezy.example"
    a = make_agency()
    owner, _ = login(a.owner)
    response = _invite(owner, "Lucia@Nueva.example", "agent", django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.content
    invitation = response.json()
    assert invitation["email"] == "lucia@nueva.example" and invitation["role"] == "agent"
    assert "token" not in invitation
    message = mail.outbox[-1]
    assert message.to == ["lucia@nueva.example"] and a.agency.name in message.subject
    assert "https://app.markezy.example/console/invitations/" in message.body
    token = _token_from_mail("lucia@nueva.example")
    with scopes_disabled():
        stored = Invitation.objects.get(id=invitation["id"])
    assert token not in stored.token_hash and len(stored.token_hash) == 64  # only the hash is kept
    assert timedelta(days=6, hours=23) < stored.expires - timezone.now() <= timedelta(days=7)
    pending = owner.get("/api/v1/members/").json()["invitations"]
    assert [i["id"] for i in pending] == [invitation["id"]]

    preview = api.get(f"/api/v1/invitations/{token}/")
    assert preview.status_code == 200
    assert preview.json()["agency"] == {"id": str(a.agency.id), "name": a.agency.name}
    assert preview.json()["email"] == "lucia@nueva.example" and preview.json()["role"] == "agent"
    assert preview.json()["existing_account"] is False
    accepted = api.post(f"/api/v1/invitations/{token}/accept", {"name": "Lucía Pérez", "password": PASSWORD},
                        format="json")
    assert accepted.status_code == 200, accepted.content
    pair = accepted.json()
    assert pair["agency"] == str(a.agency.id) and pair["access"] and pair["refresh"]
    with scopes_disabled():
        user = User.objects.get(email="lucia@nueva.example")
        assert user.name == "Lucía Pérez"
        assert Membership.objects.get(agency=a.agency, user=user).role == "agent"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert api.get("/api/v1/me").json()["role"] == "agent"
    # The new member logs in with the password they chose.
    login(user, PASSWORD)
    # Used once only.
    again = api.post(f"/api/v1/invitations/{token}/accept", {"name": "Otra", "password": PASSWORD}, format="json")
    assert again.status_code == 410 and again.json()["error"]["code"] == "invitation_used"
    assert api.get(f"/api/v1/invitations/{token}/").status_code == 410
    assert owner.get("/api/v1/members/").json()["invitations"] == []


def test_expired_invitation_is_410(make_agency, login, api, django_capture_on_commit_callbacks):
    from tenancy.models import Invitation

    a = make_agency()
    owner, _ = login(a.owner)
    invitation = _invite(owner, "tarde@x.example", "viewer", django_capture_on_commit_callbacks).json()
    token = _token_from_mail("tarde@x.example")
    with scopes_disabled():
        Invitation.objects.filter(id=invitation["id"]).update(expires=timezone.now() - timedelta(seconds=1))
    response = api.post(f"/api/v1/invitations/{token}/accept", {"name": "T", "password": PASSWORD}, format="json")
    assert response.status_code == 410 and response.json()["error"]["code"] == "invitation_expired"
    preview = api.get(f"/api/v1/invitations/{token}/")
    assert preview.status_code == 410 and preview.json()["error"]["code"] == "invitation_expired"
    from tenancy.models import User

    assert not User.objects.filter(email="tarde@x.example").exists()


def test_unknown_token_is_404_and_weak_password_400(make_agency, login, api, django_capture_on_commit_callbacks):
    unknown = api.post("/api/v1/invitations/no-existe-este-token/accept", {"name": "x", "password": PASSWORD},
                       format="json")
    assert unknown.status_code == 404
    assert api.get("/api/v1/invitations/no-existe-este-token/").status_code == 404
    a = make_agency()
    owner, _ = login(a.owner)
    _invite(owner, "debil@x.example", "viewer", django_capture_on_commit_callbacks)
    token = _token_from_mail("debil@x.example")
    weak = api.post(f"/api/v1/invitations/{token}/accept", {"name": "x", "password": "123"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()["error"]["fields"]
    # A failed attempt does not spend the invitation.
    ok = api.post(f"/api/v1/invitations/{token}/accept", {"name": "x", "password": PASSWORD}, format="json")
    assert ok.status_code == 200


def test_existing_user_joins_with_their_own_password(two_agencies, login, api, django_capture_on_commit_callbacks):
    from tenancy.models import Membership

    a, b = two_agencies
    owner_a, _ = login(a.owner)
    _invite(owner_a, b.agent.email, "admin", django_capture_on_commit_callbacks)
    token = _token_from_mail(b.agent.email)
    assert api.get(f"/api/v1/invitations/{token}/").json()["existing_account"] is True
    wrong = api.post(f"/api/v1/invitations/{token}/accept", {"name": "", "password": "otra-contraseña-larga"},
                     format="json")
    assert wrong.status_code == 400 and "password" in wrong.json()["error"]["fields"]
    ok = api.post(f"/api/v1/invitations/{token}/accept", {"name": "", "password": b.password}, format="json")
    assert ok.status_code == 200 and ok.json()["agency"] == str(a.agency.id)
    with scopes_disabled():
        assert Membership.objects.get(agency=a.agency, user=b.agent).role == "admin"
        assert Membership.objects.get(agency=b.agency, user=b.agent).role == "agent"
    client, _ = login(b.agent, agency=a.agency)
    assert client.get("/api/v1/me").json()["role"] == "admin"


def test_inviting_a_member_again_is_400(make_agency, login, django_capture_on_commit_callbacks):
    a = make_agency()
    owner, _ = login(a.owner)
    response = _invite(owner, a.agent.email, "admin", django_capture_on_commit_callbacks)
    assert response.status_code == 400 and "email" in response.json()["error"]["fields"]
    bad_role = owner.post("/api/v1/members/", {"email": "z@x.example", "role": "superadmin"}, format="json")
    assert bad_role.status_code == 400 and "role" in bad_role.json()["error"]["fields"]


def _membership_id(agency_users, user):
    from tenancy.models import Membership

    with scopes_disabled():
        return str(Membership.objects.get(agency=agency_users.agency, user=user).id)


def test_role_change_applies_at_once_and_is_audited(make_agency, login):
    from tenancy.models import AuditLog

    a = make_agency()
    owner, _ = login(a.owner)
    agent, _ = login(a.agent)
    assert agent.post("/api/v1/widget-keys/", {"name": "x"}, format="json").status_code == 403
    response = owner.patch(f"/api/v1/members/{_membership_id(a, a.agent)}/", {"role": "admin"}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "admin"
    assert response.json()["user"]["email"] == a.agent.email
    # The same access token now carries the new role.
    assert agent.post("/api/v1/widget-keys/", {"name": "x"}, format="json").status_code == 201
    with scopes_disabled():
        entry = AuditLog.objects.filter(agency=a.agency, action="member.role_change").get()
    assert entry.data == {"from": "agent", "to": "admin"} and entry.target == str(a.agent.id)
    assert entry.actor_user_id == a.owner.id
    bad = owner.patch(f"/api/v1/members/{_membership_id(a, a.agent)}/", {"role": "king"}, format="json")
    assert bad.status_code == 400 and "role" in bad.json()["error"]["fields"]


def test_removed_member_is_locked_out(make_agency, login):
    from tenancy.models import AuditLog

    a = make_agency()
    owner, _ = login(a.owner)
    viewer, _ = login(a.viewer)
    assert viewer.get("/api/v1/conversations/").status_code == 200
    assert owner.delete(f"/api/v1/members/{_membership_id(a, a.viewer)}/").status_code == 204
    assert viewer.get("/api/v1/conversations/").status_code == 401
    assert a.viewer.email not in {m["user"]["email"] for m in owner.get("/api/v1/members/").json()["results"]}
    with scopes_disabled():
        assert AuditLog.objects.filter(agency=a.agency, action="member.remove", target=str(a.viewer.id)).exists()


def test_last_owner_can_neither_leave_nor_be_demoted(make_agency, login):
    a = make_agency()
    owner, _ = login(a.owner)
    own_id = _membership_id(a, a.owner)
    demote = owner.patch(f"/api/v1/members/{own_id}/", {"role": "admin"}, format="json")
    assert demote.status_code == 400 and demote.json()["error"]["code"] == "last_owner"
    leave = owner.delete(f"/api/v1/members/{own_id}/")
    assert leave.status_code == 400 and leave.json()["error"]["code"] == "last_owner"
    # With a second owner, the first may step down.
    assert owner.patch(f"/api/v1/members/{_membership_id(a, a.admin)}/", {"role": "owner"},
                       format="json").status_code == 200
    assert owner.patch(f"/api/v1/members/{own_id}/", {"role": "admin"}, format="json").status_code == 200
    second, _ = login(a.admin)
    last = second.delete(f"/api/v1/members/{_membership_id(a, a.admin)}/")
    assert last.status_code == 400 and last.json()["error"]["code"] == "last_owner"


def test_another_agency_members_are_404(two_agencies, login):
    a, b = two_agencies
    owner_a, _ = login(a.owner)
    foreign = _membership_id(b, b.agent)
    assert owner_a.patch(f"/api/v1/members/{foreign}/", {"role": "viewer"}, format="json").status_code == 404
    assert owner_a.delete(f"/api/v1/members/{foreign}/").status_code == 404
    assert b.agent.email not in {m["user"]["email"] for m in owner_a.get("/api/v1/members/").json()["results"]}


def test_pending_invitation_can_be_withdrawn(make_agency, two_agencies, login, api, role_matrix,
                                             django_capture_on_commit_callbacks):
    from tenancy.models import AuditLog

    a = make_agency()
    owner, _ = login(a.owner)
    invitation = _invite(owner, "equivocado@x.example", "admin", django_capture_on_commit_callbacks).json()
    token = _token_from_mail("equivocado@x.example")
    role_matrix(a, "owner", lambda c, role: c.delete(f"/api/v1/members/invitations/{invitation['id']}/"), ok=(204,))
    assert owner.get("/api/v1/members/").json()["invitations"] == []
    response = api.post(f"/api/v1/invitations/{token}/accept", {"name": "x", "password": PASSWORD}, format="json")
    assert response.status_code == 404
    with scopes_disabled():
        assert AuditLog.objects.filter(agency=a.agency, action="member.invite_revoke", target=invitation["id"]).exists()
    # Another agency's invitation is not found, and stays.
    other, _ = two_agencies
    other_owner, _ = login(other.owner)
    foreign = _invite(other_owner, "ajeno@x.example", "viewer", django_capture_on_commit_callbacks).json()
    assert owner.delete(f"/api/v1/members/invitations/{foreign['id']}/").status_code == 404
    assert [i["id"] for i in other_owner.get("/api/v1/members/").json()["invitations"]] == [foreign["id"]]
