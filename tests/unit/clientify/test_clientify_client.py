"""ClientifyClient against the loopback emulator: every method, every failure family."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest

from integrations.clientify import (
    ClientifyAuthError,
    ClientifyClient,
    ClientifyNotFound,
    ClientifyPermanentError,
    ClientifyRateLimited,
    ClientifyTransientError,
    LeadSnapshot,
    build_contact_payload,
    build_deal,
    build_note,
)
from integrations.clientify.errors import parse_retry_after
from tests.doubles.clientify_server import ClientifyEmulator

ANA = {
    "first_name": "Ana",
    "last_name": "García López",
    "email": "ana@ejemplo.es",
    "phone": "+34 612 34 56 78",
}


def test_validate_token_returns_the_account(client: ClientifyClient) -> None:
    account = client.validate_token()
    assert account.email == "agencia1@example.com"
    assert account.company == "Agencia 1"


def test_validate_token_rejects_a_bad_token(crm: ClientifyEmulator) -> None:
    with ClientifyClient(crm.base_url, "wrong") as bad, pytest.raises(ClientifyAuthError) as caught:
        bad.validate_token()
    assert isinstance(caught.value, ClientifyPermanentError)
    assert caught.value.status == 401
    assert caught.value.detail == "Invalid token."


def test_every_request_carries_the_token(client: ClientifyClient, crm: ClientifyEmulator, token: str) -> None:
    client.validate_token()
    client.find_contact_by_email("nadie@ejemplo.es")
    assert {r.headers["Authorization"] for r in crm.requests()} == {f"Token {token}"}


def test_contact_lifecycle(client: ClientifyClient, crm: ClientifyEmulator) -> None:
    created = client.create_contact({**ANA, "tags": ["Markezy"]})
    assert created.url.endswith(f"/v1/contacts/{created.id}/")
    assert created.emails == ("ana@ejemplo.es",)
    assert created.phones == ("+34 612 34 56 78",)

    updated = client.update_contact(
        created.id, {"status": "hot-lead", "custom_fields": [{"field": "x", "value": "1"}]}
    )
    assert updated.status == "hot-lead"
    assert updated.last_name == "García López"  # PUT leaves absent fields alone
    assert updated.custom_fields == {"x": "1"}
    assert client.get_contact(created.id) == updated

    client.delete_contact(created.id)
    assert client.get_contact(created.id) is None
    client.delete_contact(created.id)  # already gone: still fine (erasure retries)
    assert crm.contacts() == []


def test_find_contact_by_email_is_exact_and_stable(client: ClientifyClient, crm: ClientifyEmulator) -> None:
    # Clientify's filter is a "contains" search and allows duplicates.
    crm.add_contact({"first_name": "Mariana", "email": "mariana@ejemplo.es"})
    first = crm.add_contact({"first_name": "Ana", "email": "ana@ejemplo.es"})
    crm.add_contact({"first_name": "Ana bis", "email": "ANA@ejemplo.es"})

    found = client.find_contact_by_email(" Ana@Ejemplo.ES ")
    assert found is not None and found.id == first["id"]
    assert client.find_contact_by_email("ana@otro.es") is None
    assert client.find_contact_by_email("  ") is None


def test_contacts_of_another_agency_are_invisible(client: ClientifyClient, crm: ClientifyEmulator) -> None:
    crm.add_contact({"first_name": "Ana", "email": "ana@ejemplo.es"}, token="tok-agencia-b")
    assert client.find_contact_by_email("ana@ejemplo.es") is None


def test_validation_error_is_permanent_with_field_details(
    client: ClientifyClient, crm: ClientifyEmulator
) -> None:
    with pytest.raises(ClientifyPermanentError) as caught:
        client.create_contact({"first_name": "Ana", "email": "ana@@ejemplo"})
    assert caught.value.status == 400
    assert caught.value.fields == {"email": ["Enter a valid email address."]}
    assert "email" in caught.value.detail
    assert crm.contacts() == []


def test_server_error_is_transient(client: ClientifyClient, crm: ClientifyEmulator) -> None:
    crm.inject("error", status=503, path=r"^/contacts/$", method="POST")
    with pytest.raises(ClientifyTransientError) as caught:
        client.create_contact(ANA)
    assert not isinstance(caught.value, ClientifyRateLimited)
    assert caught.value.status == 503
    assert caught.value.outcome_unknown  # a 5xx on a write may have committed
    assert client.create_contact(ANA).id  # the fault was for one request only


def test_server_error_on_a_read_is_not_an_unknown_outcome(
    client: ClientifyClient, crm: ClientifyEmulator
) -> None:
    crm.inject("error", method="GET")
    with pytest.raises(ClientifyTransientError) as caught:
        client.validate_token()
    assert caught.value.status == 500
    assert not caught.value.outcome_unknown


def test_rate_limit_carries_retry_after_seconds(client: ClientifyClient, crm: ClientifyEmulator) -> None:
    crm.inject("rate_limit", retry_after="7")
    with pytest.raises(ClientifyRateLimited) as caught:
        client.find_contact_by_email("ana@ejemplo.es")
    assert caught.value.status == 429
    assert caught.value.retry_after == 7.0


def test_rate_limit_carries_retry_after_date(client: ClientifyClient, crm: ClientifyEmulator) -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    crm.inject("rate_limit", retry_after=format_datetime(when, usegmt=True))
    with pytest.raises(ClientifyRateLimited) as caught:
        client.validate_token()
    assert caught.value.retry_after is not None
    assert 100 < caught.value.retry_after <= 120


@pytest.mark.parametrize("kind", ["timeout_after_commit", "drop_after_commit"])
def test_lost_answer_after_commit_is_transient_and_the_contact_exists(
    client: ClientifyClient, crm: ClientifyEmulator, kind: str
) -> None:
    crm.inject(kind, path=r"^/contacts/$", method="POST")  # type: ignore[arg-type]
    with pytest.raises(ClientifyTransientError) as caught:
        client.create_contact(ANA)
    assert caught.value.outcome_unknown

    # What lets the sync avoid a duplicate: look up before creating again.
    found = client.find_contact_by_email(ANA["email"])
    assert found is not None and found.first_name == "Ana"
    assert len(crm.contacts()) == 1


def test_slow_answers_within_the_timeout_succeed(client: ClientifyClient, crm: ClientifyEmulator) -> None:
    crm.inject("slow", delay=0.1)
    assert client.validate_token().email


def test_slow_answers_beyond_the_timeout_are_transient(
    client: ClientifyClient, crm: ClientifyEmulator
) -> None:
    crm.inject("slow", delay=2.0, method="GET")
    with pytest.raises(ClientifyTransientError) as caught:
        client.get_contact(1)
    assert not caught.value.outcome_unknown


def test_unreachable_clientify_is_transient_and_nothing_was_sent() -> None:
    with ClientifyEmulator() as crm:
        base_url = crm.base_url  # a port that was free a moment ago, closed now
    with (
        ClientifyClient(base_url, "test-token", timeout=1) as clientify,
        pytest.raises(ClientifyTransientError) as caught,
    ):
        clientify.create_contact(ANA)
    assert not caught.value.outcome_unknown


def test_add_note(client: ClientifyClient, crm: ClientifyEmulator) -> None:
    contact = client.create_contact(ANA)
    note = client.add_note(contact.id, name="Estrategia Markezy", comment="Resumen")
    assert (note.name, note.comment) == ("Estrategia Markezy", "Resumen")
    assert [n["comment"] for n in crm.notes(contact.id)] == ["Resumen"]
    with pytest.raises(ClientifyNotFound):
        client.add_note(contact.id + 1000, name="x", comment="y")


def test_create_deal(client: ClientifyClient, crm: ClientifyEmulator) -> None:
    contact = client.create_contact(ANA)
    deal = client.create_deal(name="Markezy · Panadería Ana", contact_url=contact.url, amount=1500.0)
    assert deal.amount == Decimal("1500.00")
    assert deal.contact_url == contact.url
    assert crm.requests(method="POST", path=r"^/deals/$")[0].body["amount"] == "1500.00"

    with pytest.raises(ClientifyPermanentError) as caught:
        client.create_deal(name="x", contact_url=f"{crm.base_url}/contacts/999/", amount=None)
    assert caught.value.fields == {"contact": ["Invalid hyperlink - Object does not exist."]}


def test_a_mapped_lead_is_accepted_end_to_end(client: ClientifyClient, crm: ClientifyEmulator) -> None:
    lead = LeadSnapshot(
        lead_id="4f1c1d52-7a0e-4d59-9a43-0c1f3b8f2a10",
        name="ana garcía lópez",
        company="Panadería Ana",
        email="ana@ejemplo.es",
        phone="+34 612 34 56 78",
        website="https://panaderia-ana.es",
        sector="Alimentación",
        answers={"goals": ["más clientes", "marca"], "budget_monthly": 1500.0},
        score=82,
        score_band="hot",
        consent_granted=True,
        strategy_summary="Campaña local en Google y redes.",
        strategy_pdf_url="https://markezy.example/s/abc.pdf",
        budget_monthly=1500.0,
    )
    contact = client.create_contact(build_contact_payload(lead))
    name, comment = build_note(lead)
    client.add_note(contact.id, name=name, comment=comment)
    deal = client.create_deal(**build_deal(lead, contact_url=contact.url))

    stored = crm.contacts()[0]
    assert (stored["first_name"], stored["last_name"]) == ("Ana", "García López")
    assert stored["status"] == "hot-lead" and stored["gdpr_accept"] is True
    assert stored["tags"] == ["Alimentación", "Markezy"]
    assert {"field": "markezy_goals", "value": "más clientes, marca"} in [
        {k: cf[k] for k in ("field", "value")} for cf in stored["custom_fields"]
    ]
    assert deal.amount == Decimal("1500.00")


def test_parse_retry_after() -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now=now) == 30.0
    assert parse_retry_after("1.5", now=now) == 1.5
    assert parse_retry_after("-4", now=now) == 0.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0
    for garbage in (None, "", "soon", "inf", "nan"):
        assert parse_retry_after(garbage, now=now) is None


def test_find_deal_for_contact_matches_the_hyperlink_exactly(client: ClientifyClient, crm: ClientifyEmulator) -> None:
    ana = client.create_contact({"first_name": "Ana", "email": "ana@correo.es"})
    luis = client.create_contact({"first_name": "Luis", "email": "luis@correo.es"})
    assert client.find_deal_for_contact(ana.url) is None
    client.create_deal(name="Luis", contact_url=luis.url, amount=100)
    first = client.create_deal(name="Ana", contact_url=ana.url, amount=200)
    client.create_deal(name="Ana bis", contact_url=ana.url, amount=300)
    found = client.find_deal_for_contact(ana.url)
    assert found is not None and found.id == first.id and found.contact_url == ana.url
