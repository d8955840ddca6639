"""The lead → Clientify mapping: pure functions, so plain examples."""

from decimal import Decimal

import pytest

from integrations.clientify import InvalidMapping, LeadSnapshot, build_contact_payload, build_deal, build_note
from integrations.clientify.mapping import parse_mapping, split_name


def make_lead(**overrides: object) -> LeadSnapshot:
    fields: dict[str, object] = {
        "lead_id": "4f1c1d52-7a0e-4d59-9a43-0c1f3b8f2a10",
        "name": "Ana García López",
        "company": "Panadería Ana",
        "email": "ana@ejemplo.es",
        "phone": "+34 612 34 56 78",
        "website": "https://panaderia-ana.es",
        "sector": "Alimentación",
        "answers": {
            "consent": True,
            "name": "Ana García López",
            "email": "ana@ejemplo.es",
            "goals": ["más clientes", "marca"],
            "budget_monthly": 2000.0,
            "timeline": "",
        },
        "score": 82,
        "score_band": "hot",
        "consent_granted": True,
        "strategy_summary": "Campaña local en Google y redes.",
        "strategy_pdf_url": "https://markezy.example/s/abc.pdf",
        "budget_monthly": 2000.0,
    }
    fields.update(overrides)
    return LeadSnapshot(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("full_name", "expected"),
    [
        ("Ana García López", ("Ana", "García López")),
        ("  Ana   García ", ("Ana", "García")),
        ("Ana", ("Ana", "")),
        ("", ("", "")),
        ("José Luis Rodríguez Zapatero", ("José Luis", "Rodríguez Zapatero")),
        ("María del Carmen Ruiz Gómez", ("María del Carmen", "Ruiz Gómez")),
        ("Juan de la Cruz", ("Juan", "de la Cruz")),
        ("García López, Ana", ("Ana", "García López")),
        ("ana garcía-lópez de la fuente", ("Ana", "García-López de la Fuente")),
        ("ANA GARCÍA", ("Ana", "García")),
        ("Leonor McDonald", ("Leonor", "McDonald")),
    ],
)
def test_split_name(full_name: str, expected: tuple[str, str]) -> None:
    assert split_name(full_name) == expected


def test_default_contact_payload() -> None:
    assert build_contact_payload(make_lead()) == {
        "first_name": "Ana",
        "last_name": "García López",
        "email": "ana@ejemplo.es",
        "phone": "+34 612 34 56 78",
        "company": "Panadería Ana",
        "status": "hot-lead",
        "tags": ["Alimentación", "Markezy"],
        "gdpr_accept": True,
        "contact_source": "Markezy",
        "custom_fields": [
            {"field": "markezy_goals", "value": "más clientes, marca"},
            {"field": "markezy_budget_monthly", "value": "2000"},
            {"field": "markezy_website", "value": "https://panaderia-ana.es"},
            {"field": "markezy_sector", "value": "Alimentación"},
            {"field": "markezy_score", "value": "82"},
            {"field": "markezy_lead_id", "value": "4f1c1d52-7a0e-4d59-9a43-0c1f3b8f2a10"},
        ],
    }


@pytest.mark.parametrize(
    ("band", "status"), [("hot", "hot-lead"), ("warm", "warm-lead"), ("cold", "cold-lead")]
)
def test_status_follows_the_score_band(band: str, status: str) -> None:
    assert build_contact_payload(make_lead(score_band=band))["status"] == status


def test_empty_values_are_left_out_so_updates_do_not_wipe_the_crm() -> None:
    payload = build_contact_payload(make_lead(phone="", company="  ", sector="", consent_granted=False))
    assert "phone" not in payload and "company" not in payload
    assert payload["tags"] == ["Markezy"]
    assert payload["gdpr_accept"] is False


def test_agency_mapping_renames_drops_and_configures() -> None:
    mapping = {
        "fields": {"company": "company_name", "phone": None},
        "custom_field_prefix": "mk_",
        "custom_field_names": {"budget_monthly": "presupuesto", "lead_id": None},
        "status_by_band": {"hot": "in-deal"},
        "extra_tags": ["web", "markezy"],
        "contact_source": "Chat web",
    }
    payload = build_contact_payload(make_lead(), mapping=mapping)
    assert payload["company_name"] == "Panadería Ana"
    assert "company" not in payload and "phone" not in payload
    assert payload["status"] == "in-deal"
    assert payload["tags"] == ["Alimentación", "Markezy", "web"]  # tags are deduplicated ignoring case
    assert payload["contact_source"] == "Chat web"
    names = [cf["field"] for cf in payload["custom_fields"]]
    assert names == ["mk_goals", "presupuesto", "mk_website", "mk_sector", "mk_score"]


def test_custom_fields_can_be_turned_off() -> None:
    assert "custom_fields" not in build_contact_payload(make_lead(), mapping={"custom_fields": False})


def test_invalid_mapping_names_every_bad_key() -> None:
    with pytest.raises(InvalidMapping) as caught:
        parse_mapping(
            {
                "fields": {"shoe_size": "x"},
                "custom_fields": "yes",
                "status_by_band": {"hot": None},
                "extra_tags": "web",
                "colour": "red",
            }
        )
    assert set(caught.value.errors) == {"fields", "custom_fields", "status_by_band", "extra_tags", "colour"}
    assert "shoe_size" in caught.value.errors["fields"]


def test_note_carries_score_summary_and_pdf_link() -> None:
    name, comment = build_note(make_lead())
    assert name == "Estrategia Markezy"
    assert comment == (
        "Puntuación Markezy: 82/100 (caliente).\n\n"
        "Campaña local en Google y redes.\n\n"
        "Estrategia completa (PDF): https://markezy.example/s/abc.pdf"
    )


def test_note_without_strategy_says_so() -> None:
    _, comment = build_note(
        make_lead(strategy_summary=None, strategy_pdf_url=None, score_band="cold", score=20)
    )
    assert comment == "Puntuación Markezy: 20/100 (frío).\n\nLa estrategia aún no está lista."


def test_deal_amount_is_the_monthly_budget() -> None:
    url = "https://api.clientify.net/v1/contacts/7/"
    deal = build_deal(make_lead(budget_monthly=1999.99), contact_url=url)
    assert deal == {
        "name": "Markezy · Panadería Ana",
        "contact_url": url,
        "amount": Decimal("1999.99"),
        "currency": "EUR",
        "deal_source": "Markezy",
    }
    assert build_deal(make_lead(budget_monthly=None), contact_url=url)["amount"] is None
    staged = build_deal(
        make_lead(), contact_url=url, mapping={"deal_pipeline": "Ventas", "deal_stage": "Nuevo"}
    )
    assert (staged["pipeline_desc"], staged["pipeline_stage_desc"]) == ("Ventas", "Nuevo")
