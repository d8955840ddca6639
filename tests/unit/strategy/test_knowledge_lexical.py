"""The sparse lexical vector: Spanish stemming, accent folding, stopwords,
deterministic hashed ids (the same in every process)."""

from __future__ import annotations

import subprocess
import sys

from strategy.knowledge import lexical


def _ids(text: str) -> set[int]:
    return set(lexical.query_vector(text).indices)


def test_plural_and_singular_share_a_term():
    assert _ids("campañas") == _ids("campaña")
    assert _ids("precios") == _ids("precio")
    assert _ids("clínicas dentales") == _ids("clínica dental")


def test_accents_typed_or_not_meet():
    assert _ids("publicación") & _ids("publicacion")
    assert _ids("clínica") == _ids("clinica")
    assert _ids("Campañas") == _ids("CAMPAÑAS")


def test_stopwords_are_dropped():
    assert _ids("de la los para con una") == set()
    assert _ids("las campañas de la agencia") == _ids("campañas agencia")


def test_document_weights_saturate_and_are_positive():
    once = lexical.document_vector("seo")
    many = lexical.document_vector("seo " * 20)
    assert once.indices == many.indices
    assert 0 < once.values[0] < many.values[0] < 2.2 * once.values[0]


def test_term_ids_are_stable_across_processes():
    code = ("from strategy.knowledge import lexical; "
            "print(sorted(lexical.query_vector('Campañas de Google Ads en Valencia').indices))")
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert outputs.pop().strip() == str(sorted(lexical.query_vector("Campañas de Google Ads en Valencia").indices))
    assert all(0 <= i < 2**31 for i in _ids("Campañas de Google Ads en Valencia"))


def test_the_euro_sign_is_the_word_euros():
    assert _ids("490 €") == _ids("490 euros") == _ids("490 euro")
