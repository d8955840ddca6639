"""Score reasons are shown to staff as written: they name sectors in words."""

from qualification.scoring import score_lead


def test_reasons_name_the_sector_in_words_in_both_languages():
    fit = next(r for r in score_lead({"sector": "servicios_locales", "goals": ["captar_leads"]}).reasons
               if r["factor"] == "fit")
    assert "«Servicios locales»" in fit["reason_es"] and "'Local services'" in fit["reason_en"]
    assert "servicios_locales" not in fit["reason_es"] + fit["reason_en"]


def test_unknown_sectors_stay_readable():
    fit = next(r for r in score_lead({"sector": "venta_de_barcos"}).reasons if r["factor"] == "fit")
    assert "«venta de barcos»" in fit["reason_es"]
    none = next(r for r in score_lead({}).reasons if r["factor"] == "fit")
    assert "«desconocido»" in none["reason_es"] and "'unknown'" in none["reason_en"]
