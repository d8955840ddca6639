"""The emulator's own promises: Clientify's shapes, pagination, faults, isolation, control API."""

import subprocess
import sys
from pathlib import Path

import httpx

from tests.doubles.clientify_server import ClientifyEmulator

ROOT = Path(__file__).resolve().parents[3]


def api(crm: ClientifyEmulator, token: str) -> httpx.Client:
    return httpx.Client(base_url=crm.base_url + "/", headers={"Authorization": f"Token {token}"}, timeout=5)


def test_missing_or_malformed_credentials(crm: ClientifyEmulator) -> None:
    anonymous = httpx.get(f"{crm.base_url}/contacts/", timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json() == {"detail": "Authentication credentials were not provided."}
    assert anonymous.headers["WWW-Authenticate"] == "Token"
    bearer = httpx.get(f"{crm.base_url}/contacts/", headers={"Authorization": "Bearer x"}, timeout=5)
    assert bearer.status_code == 401


def test_contact_shape(crm: ClientifyEmulator, token: str) -> None:
    with api(crm, token) as http:
        response = http.post(
            "contacts/",
            json={"first_name": "Ana", "email": "ana@ejemplo.es", "phone": "612345678", "unknown": 1},
        )
    assert response.status_code == 201
    body = response.json()
    assert body["url"] == f"{crm.base_url}/contacts/{body['id']}/"
    assert body["emails"] == [{"id": body["emails"][0]["id"], "type": 1, "email": "ana@ejemplo.es"}]
    assert body["phones"][0]["phone"] == "612345678"
    assert body["status"] == "cold-lead"
    assert "unknown" not in body


def test_drf_validation_errors(crm: ClientifyEmulator, token: str) -> None:
    with api(crm, token) as http:
        response = http.post("contacts/", json={"email": "x", "status": "vip", "tags": "a"})
        not_json = http.post("contacts/", content=b"{nope", headers={"Content-Type": "application/json"})
        no_slash = http.post("contacts", json={"first_name": "Ana"})
    assert response.status_code == 400
    assert response.json() == {
        "first_name": ["This field is required."],
        "email": ["Enter a valid email address."],
        "status": ['"vip" is not a valid choice.'],
        "tags": ['Expected a list of items but got type "str".'],
    }
    assert not_json.status_code == 400 and not_json.json()["detail"].startswith("JSON parse error")
    assert no_slash.status_code == 404


def test_pagination(crm: ClientifyEmulator, token: str) -> None:
    for n in range(25):
        crm.add_contact({"first_name": f"Lead {n}", "email": f"lead{n}@ejemplo.es"})
    with api(crm, token) as http:
        first = http.get("contacts/").json()
        second = http.get(first["next"]).json()
        beyond = http.get("contacts/", params={"page": 3})
    assert first["count"] == 25 and len(first["results"]) == 20 and first["previous"] is None
    assert len(second["results"]) == 5 and second["next"] is None
    assert second["previous"] == f"{crm.base_url}/contacts/"
    assert beyond.status_code == 404 and beyond.json() == {"detail": "Invalid page."}


def test_accounts_are_isolated(crm: ClientifyEmulator, token: str) -> None:
    crm.add_contact({"first_name": "Ana"}, token="tok-agencia-b")
    with api(crm, token) as http:
        assert http.get("contacts/").json()["count"] == 0
        assert http.get(f"contacts/{crm.contacts(token='tok-agencia-b')[0]['id']}/").status_code == 404


def test_probabilistic_faults_replay_with_the_same_seed(token: str) -> None:
    def pattern() -> list[int]:
        with ClientifyEmulator(tokens=[token], seed=42) as crm, api(crm, token) as http:
            crm.inject("error", times=None, probability=0.5, path=r"^/settings/")
            return [http.get("settings/my-account/").status_code for _ in range(20)]

    first = pattern()
    assert first == pattern()
    assert {200, 500} <= set(first)


def test_faults_match_method_and_path_and_count_down(crm: ClientifyEmulator, token: str) -> None:
    fault = crm.inject("error", times=2, method="POST", status=502)
    with api(crm, token) as http:
        assert http.get("contacts/").status_code == 200
        codes = [http.post("contacts/", json={"first_name": "Ana"}).status_code for _ in range(3)]
    assert codes == [502, 502, 201]
    assert fault.hits == 2
    assert [r.fault for r in crm.requests(method="POST")] == ["error", "error", None]


def test_control_api(crm: ClientifyEmulator, token: str) -> None:
    root = crm.base_url.removesuffix("/v1")
    created = httpx.post(
        f"{root}/_emulator/faults", json={"kind": "rate_limit", "retry_after": "3"}, timeout=5
    )
    assert created.status_code == 201
    with api(crm, token) as http:
        throttled = http.get("contacts/")
        assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "3")
        http.post("contacts/", json={"first_name": "Ana"})
    state = httpx.get(f"{root}/_emulator/state", timeout=5).json()
    assert [c["first_name"] for c in state[token]["contacts"]] == ["Ana"]
    assert httpx.post(f"{root}/_emulator/faults", json={"kind": "meteor"}, timeout=5).status_code == 400
    assert httpx.post(f"{root}/_emulator/reset", timeout=5).status_code == 204
    assert crm.contacts() == []


def test_standalone_server() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.doubles.clientify_server", "--port", "0", "--token", "tok"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        response = httpx.get(
            f"{base_url}/settings/my-account/", headers={"Authorization": "Token tok"}, timeout=5
        )
        assert response.status_code == 200 and response.json()["email"]
    finally:
        process.terminate()
        process.wait(timeout=10)
