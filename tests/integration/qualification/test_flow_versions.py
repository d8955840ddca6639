"""Flows are versioned: a conversation stays on the version it started with;
a published version never changes."""

from __future__ import annotations

import uuid

import pytest
from django_scopes import scope

from project.api.errors import ApplicationError, Conflict, Forbidden
from qualification.flows import load_default_flow
from qualification.services import flow_draft_save, flow_version_publish
from tenancy.actors import StaffActor

pytestmark = pytest.mark.django_db


def _actor(agency_users, role):
    user = agency_users.user(role)
    return StaffActor(user_id=user.id, agency_id=agency_users.agency.id, role=role, name=user.email)


def _session(agency_users, ip):
    from chat.services import widget_session_open

    return widget_session_open(key=agency_users.key.key, origin="https://cliente.example", visitor_token=None,
                               page_url="", locale="es", ip=ip).conversation


def test_running_conversations_keep_their_version(make_agency):
    a = make_agency()
    old = _session(a, "10.2.0.1")
    definition = load_default_flow()
    definition["questions"].insert(3, {"field": "employees", "type": "number", "required": True,
                                       "prompt": {"es": "¿Cuántas personas trabajáis?", "en": "How many people?"}})
    draft = flow_draft_save(actor=_actor(a, "admin"), definition=definition)
    assert draft.number == 2 and draft.status == "draft"
    assert _session(a, "10.2.0.2").flow_version.number == 1  # drafts are not used
    flow_version_publish(actor=_actor(a, "admin"), version_id=draft.id)
    new = _session(a, "10.2.0.3")
    assert new.flow_version.number == 2
    with scope(agency=a.agency.id):
        old.refresh_from_db()
    assert old.flow_version.number == 1
    assert "employees" not in [q["field"] for q in old.flow_version.definition["questions"]]


def test_published_versions_are_immutable_and_invalid_flows_refused(make_agency):
    a = make_agency()
    admin = _actor(a, "admin")
    draft = flow_draft_save(actor=admin, definition=load_default_flow())
    flow_version_publish(actor=admin, version_id=draft.id)
    with pytest.raises(Conflict):
        flow_draft_save(actor=admin, definition=load_default_flow(), version_id=draft.id)
    broken = load_default_flow()
    broken["questions"][1]["prompt"] = {}
    with pytest.raises(ApplicationError) as excinfo:
        flow_draft_save(actor=admin, definition=broken)
    assert "questions/1/prompt" in excinfo.value.fields
    with pytest.raises(Forbidden):
        flow_draft_save(actor=_actor(a, "agent"), definition=load_default_flow())


def test_other_agency_versions_are_not_found(two_agencies):
    from project.api.errors import NotFound

    a, b = two_agencies
    draft_b = flow_draft_save(actor=_actor(b, "admin"), definition=load_default_flow())
    with pytest.raises(NotFound):
        flow_version_publish(actor=_actor(a, "owner"), version_id=draft_b.id)
    with pytest.raises(NotFound):
        flow_version_publish(actor=_actor(a, "owner"), version_id=uuid.uuid4())
