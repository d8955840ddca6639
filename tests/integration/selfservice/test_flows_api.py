"""The flows REST API (CONTRACT §5 `flows/`, issue 11): versions, drafts,
schema errors pointing at the question, publish, diff; conversations keep
the version they started on."""

from __future__ import annotations

import copy

import pytest
from django_scopes import scopes_disabled

from qualification.flows import load_default_flow

pytestmark = pytest.mark.django_db

EMPLOYEES = {"field": "employees", "type": "number", "required": True,
             "prompt": {"es": "¿Cuántas personas trabajáis en la empresa?", "en": "How many people work there?"}}


def _with_employees() -> dict:
    definition = load_default_flow()
    definition["questions"].insert(3, copy.deepcopy(EMPLOYEES))
    return definition


def _draft(client, definition):
    return client.post("/api/v1/flows/drafts/", {"definition": definition}, format="json")


def test_flow_list_shows_versions(make_agency, role_matrix):
    a = make_agency()
    answers = role_matrix(a, "viewer", lambda c, role: c.get("/api/v1/flows/"))
    body = answers["viewer"].json()
    assert body["name"] and len(body["versions"]) == 1
    version = body["versions"][0]
    assert set(version) == {"id", "number", "status", "created", "published_at", "created_by", "published_by"}
    assert version["number"] == 1 and version["status"] == "published" and version["published_at"]
    assert body["current_version"] == version["id"]
    detail = role_matrix(a, "viewer", lambda c, role: c.get(f"/api/v1/flows/versions/{version['id']}/"))
    assert detail["agent"].json()["definition"] == load_default_flow()


def test_write_role_matrix(make_agency, role_matrix):
    a = make_agency()
    created = role_matrix(a, "admin", lambda c, role: _draft(c, load_default_flow()), ok=(201,))
    draft = created["owner"].json()
    assert draft["status"] == "draft" and draft["number"] == 3 and draft["published_at"] is None
    role_matrix(a, "admin", lambda c, role: c.put(f"/api/v1/flows/versions/{draft['id']}/",
                                                  {"definition": _with_employees()}, format="json"))
    role_matrix(a, "admin", lambda c, role: c.post(f"/api/v1/flows/versions/{draft['id']}/publish/"))


def test_draft_publish_and_conversations_keep_their_version(make_agency, login, client, widget_session):
    a = make_agency()
    admin, _ = login(a.admin)
    old = widget_session(client, a.key.key).json()
    assert old["config"]["flow"]["version"] == 1

    draft = _draft(admin, load_default_flow())
    assert draft.status_code == 201, draft.content
    draft_id = draft.json()["id"]
    saved = admin.put(f"/api/v1/flows/versions/{draft_id}/", {"definition": _with_employees()}, format="json")
    assert saved.status_code == 200 and saved.json()["number"] == 2
    assert "employees" in [q["field"] for q in saved.json()["definition"]["questions"]]
    # A draft is not used by new conversations.
    assert widget_session(client, a.key.key).json()["config"]["flow"]["version"] == 1

    published = admin.post(f"/api/v1/flows/versions/{draft_id}/publish/")
    assert published.status_code == 200 and published.json()["status"] == "published"
    from tenancy.models import AuditLog

    with scopes_disabled():
        entry = AuditLog.objects.get(agency=a.agency, action="flow.publish")
    assert entry.target == draft_id and entry.data == {"number": 2} and entry.actor_user_id == a.admin.id
    listing = admin.get("/api/v1/flows/").json()
    assert listing["current_version"] == draft_id
    assert [v["number"] for v in listing["versions"]] == [2, 1]

    new = widget_session(client, a.key.key).json()
    assert new["config"]["flow"]["version"] == 2
    assert "employees" in [s["field"] for s in new["config"]["flow"]["steps"]]
    # The conversation that started before keeps version 1, also when it resumes.
    resumed = widget_session(client, a.key.key, visitor_token=old["visitor_token"]).json()
    assert resumed["conversation"] == old["conversation"] and resumed["config"]["flow"]["version"] == 1
    assert "employees" not in [s["field"] for s in resumed["config"]["flow"]["steps"]]
    from chat.models import Conversation

    with scopes_disabled():
        assert Conversation.objects.get(id=old["conversation"]).flow_version.number == 1
        assert Conversation.objects.get(id=new["conversation"]).flow_version.number == 2


def test_published_version_cannot_be_changed(make_agency, login):
    a = make_agency()
    admin, _ = login(a.admin)
    current = admin.get("/api/v1/flows/").json()["current_version"]
    response = admin.put(f"/api/v1/flows/versions/{current}/", {"definition": _with_employees()}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "version_immutable"
    assert admin.get(f"/api/v1/flows/versions/{current}/").json()["definition"] == load_default_flow()
    # Publishing again is harmless.
    assert admin.post(f"/api/v1/flows/versions/{current}/publish/").status_code == 200


@pytest.mark.parametrize("mutate,path", [
    (lambda d: d["questions"][2].update(prompt={}), "questions/2/prompt"),
    (lambda d: d["questions"][1].update(type="telepathy"), "questions/1/type"),
    (lambda d: d["questions"][4].pop("field"), "questions/4"),
    (lambda d: d["questions"].append({**d["questions"][1]}), f"questions/{len(load_default_flow()['questions'])}/field"),
    (lambda d: d["questions"][1].update(field="Nombre Completo"), "questions/1/field"),
    (lambda d: d.update(questions=[]), "questions"),
])
def test_schema_errors_are_400_pointing_at_the_question(make_agency, login, mutate, path):
    a = make_agency()
    admin, _ = login(a.admin)
    definition = load_default_flow()
    mutate(definition)
    response = _draft(admin, definition)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert path in error["fields"], error["fields"]
    assert len(admin.get("/api/v1/flows/").json()["versions"]) == 1
    # The same check when saving over a draft.
    draft = _draft(admin, load_default_flow()).json()
    again = admin.put(f"/api/v1/flows/versions/{draft['id']}/", {"definition": definition}, format="json")
    assert again.status_code == 400 and path in again.json()["error"]["fields"]


def test_definition_must_be_an_object(make_agency, login):
    a = make_agency()
    admin, _ = login(a.admin)
    for body in ({}, {"definition": "questions"}, {"definition": [1, 2]}):
        response = admin.post("/api/v1/flows/drafts/", body, format="json")
        assert response.status_code == 400 and "definition" in response.json()["error"]["fields"]


def test_diff_between_versions(make_agency, role_matrix, login):
    a = make_agency()
    admin, _ = login(a.admin)
    v1 = admin.get("/api/v1/flows/").json()["current_version"]
    definition = _with_employees()
    definition["questions"] = [q for q in definition["questions"] if q["field"] != "audience"]
    website = next(q for q in definition["questions"] if q["field"] == "website")
    website["required"] = not website.get("required", True)
    website["prompt"] = {"es": "¿Tienes web?", "en": "Do you have a website?"}
    v2 = _draft(admin, definition).json()["id"]
    answers = role_matrix(a, "viewer", lambda c, role: c.get(f"/api/v1/flows/versions/{v2}/diff/?against={v1}"))
    diff = answers["viewer"].json()
    assert diff["version"] == v2 and diff["against"] == v1
    assert [q["field"] for q in diff["added"]] == ["employees"]
    assert [q["field"] for q in diff["removed"]] == ["audience"]
    assert [(c["field"], c["keys"]) for c in diff["changed"]] == [("website", ["prompt", "required"])]
    assert diff["changed"][0]["after"]["prompt"]["es"] == "¿Tienes web?"
    assert diff["reordered"] is False
    backwards = admin.get(f"/api/v1/flows/versions/{v1}/diff/?against={v2}").json()
    assert [q["field"] for q in backwards["added"]] == ["audience"]
    assert [q["field"] for q in backwards["removed"]] == ["employees"]
    same = admin.get(f"/api/v1/flows/versions/{v1}/diff/?against={v1}").json()
    assert same["added"] == same["removed"] == same["changed"] == [] and not same["reordered"]
    missing = admin.get(f"/api/v1/flows/versions/{v1}/diff/")
    assert missing.status_code == 400 and "against" in missing.json()["error"]["fields"]


def test_diff_sees_reordering(make_agency, login):
    a = make_agency()
    admin, _ = login(a.admin)
    v1 = admin.get("/api/v1/flows/").json()["current_version"]
    definition = load_default_flow()
    definition["questions"][1], definition["questions"][2] = definition["questions"][2], definition["questions"][1]
    v2 = _draft(admin, definition).json()["id"]
    diff = admin.get(f"/api/v1/flows/versions/{v2}/diff/?against={v1}").json()
    assert diff["reordered"] is True and diff["added"] == diff["removed"] == diff["changed"] == []


def test_another_agency_versions_are_404(two_agencies, login):
    a, b = two_agencies
    admin_a, _ = login(a.admin)
    admin_b, _ = login(b.admin)
    draft_b = _draft(admin_b, load_default_flow()).json()["id"]
    current_b = admin_b.get("/api/v1/flows/").json()["current_version"]
    current_a = admin_a.get("/api/v1/flows/").json()["current_version"]
    for version in (draft_b, current_b):
        assert admin_a.get(f"/api/v1/flows/versions/{version}/").status_code == 404
        assert admin_a.put(f"/api/v1/flows/versions/{version}/", {"definition": load_default_flow()},
                           format="json").status_code == 404
        assert admin_a.post(f"/api/v1/flows/versions/{version}/publish/").status_code == 404
        assert admin_a.get(f"/api/v1/flows/versions/{version}/diff/?against={current_a}").status_code == 404
        assert admin_a.get(f"/api/v1/flows/versions/{current_a}/diff/?against={version}").status_code == 404
    assert admin_b.get(f"/api/v1/flows/versions/{draft_b}/").json()["status"] == "draft"
    assert draft_b not in {v["id"] for v in admin_a.get("/api/v1/flows/").json()["versions"]}
