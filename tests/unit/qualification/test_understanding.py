"""Rule-based understanding of Spanish answers (the offline provider's, and the
check on the LLM's)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qualification.flows import load_default_flow
from qualification.understanding import detect_correction, extract_fields, parse_answer, parse_money

FLOW = load_default_flow()
Q = {q["field"]: q for q in FLOW["questions"]}


@pytest.mark.parametrize(("text", "value", "extra"), [
    ("2.000 €", 2000, {}),
    ("2000€", 2000, {}),
    ("unos 2.000 € al mes", 2000, {}),
    ("2k al mes", 2000, {}),
    ("2 mil euros", 2000, {}),
    ("1,5k", 1500, {}),
    ("entre 1.000 y 2.000 euros", 1500, {"range": [1000, 2000]}),
    ("1.500,50 €", 1500.5, {}),
    ("dos mil euros", 2000, {}),
    ("mil quinientos", 1500, {}),
    ("500 al mes", 500, {}),
    ("24.000 al año", 2000, {"period": "year", "yearly": 24000}),
])
def test_money(text, value, extra):
    result = parse_money(text)
    assert result.ok and result.value == value
    for key, expected in extra.items():
        assert result.extra[key] == expected


@pytest.mark.parametrize("text", ["ni idea", "no lo sé", "depende"])
def test_money_unknown_asks_again_with_reason(text):
    result = parse_answer(Q["budget_monthly"], text)
    assert not result.ok and "aproximada" in result.reason


@pytest.mark.parametrize("text", ["+34 612 34 56 78", "612345678", "0034 612 34 56 78", "612 34 56 78"])
def test_phone_e164(text):
    assert parse_answer(Q["phone"], text).value == "+34612345678"


def test_phone_invalid_and_optional_decline():
    assert not parse_answer(Q["phone"], "123").ok
    declined = parse_answer(Q["phone"], "prefiero no")
    assert declined.ok and declined.value is None


def test_email():
    assert parse_answer(Q["email"], "MiEmpresa@Correo.es").value == "miempresa@correo.es"
    missing_at = parse_answer(Q["email"], "ana.correo.es")
    assert not missing_at.ok and "falta la @" in missing_at.reason
    assert not parse_answer(Q["email"], "ana@").ok


def test_url_and_optional_none():
    assert parse_answer(Q["website"], "miweb.com/tienda").value == "https://miweb.com/tienda"
    assert parse_answer(Q["website"], "Mi web es HTTPS://WWW.Sol.es").value == "https://www.sol.es"
    none = parse_answer(Q["website"], "no tengo")
    assert none.ok and none.value is None


@pytest.mark.parametrize(("text", "value"), [
    ("Tengo un RESTAURANTE", "hosteleria"), ("hostelería", "hosteleria"), ("Clínica dental", "salud_belleza"),
    ("tienda online", "ecommerce"), ("la 3", "b2b"),
])
def test_choices_ignore_accents_and_case(text, value):
    assert parse_answer(Q["sector"], text).value == value


def test_multichoice():
    assert parse_answer(Q["channels"], "SEO y redes sociales").value == ["seo", "redes_sociales"]
    assert parse_answer(Q["goals"], "vender más y que me conozcan").value == ["vender_online", "notoriedad"]
    assert not parse_answer(Q["channels"], "la radio local").ok


def test_consent_words():
    for yes in ("Sí", "vale", "de acuerdo", "Acepto", "claro que sí"):
        assert parse_answer(Q["consent"], yes).value is True
    for no in ("No", "no acepto", "No, gracias"):
        assert parse_answer(Q["consent"], no).value is False
    assert not parse_answer(Q["consent"], "¿qué es eso?").ok


def test_several_fields_in_one_message():
    results = extract_fields(FLOW, "Soy Ana, de Panadería Sol, en Valencia", expected_field="name", answered={})
    assert results["name"].value == "Ana"
    assert results["company"].value == "Panadería Sol"
    volunteered = extract_fields(FLOW, "Soy Luis, escríbeme a luis@obra.es", expected_field="name", answered={})
    assert volunteered["email"].value == "luis@obra.es"


def test_corrections():
    field, result = detect_correction(FLOW, "en realidad mi presupuesto es 3.000 €", {})
    assert (field, result.value) == ("budget_monthly", 3000)
    field, result = detect_correction(FLOW, "perdona, mi email es ana@x.es", {})
    assert (field, result.value) == ("email", "ana@x.es")
    field, result = detect_correction(FLOW, "me equivoqué, el sector es hostelería", {})
    assert (field, result.value) == ("sector", "hosteleria")
    assert detect_correction(FLOW, "mi presupuesto es 3.000 €", {}) is None


@given(st.integers(min_value=0, max_value=999_999))
def test_money_roundtrip_spanish_thousands(amount):
    text = f"{amount:,}".replace(",", ".") + " €"
    assert parse_money(text).value == amount
