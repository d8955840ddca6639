"""project/search.py: the blind word tokens stored with every turn. Tokens
already stored must keep matching, so folding and hashing may get faster but
never give another answer."""

from __future__ import annotations

import hashlib
import hmac
import random
import unicodedata

from project import search


def _fold_by_character(text: str) -> str:
    # The definition: NFKD, then every combining character dropped.
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _token_by_definition(key: str, word: str) -> str:
    return "t" + hmac.new(key.encode(), b"w:" + word.encode(), hashlib.sha256).hexdigest()[:12]


def test_folding_drops_accents_and_case_as_the_definition_does():
    assert search._fold("Clínica DENTAL en Málaga, ¿pingüino? Ñandú") == "clinica dental en malaga, ¿pinguino? nandu"
    rnd = random.Random(13)
    samples = ["ḱ̃ é e\u0301 \u0915\u093f \u034f x 東京 🎉 ﬁ ½ Ångström", "plain ascii"]
    for _ in range(3000):
        samples.append("".join(chr(rnd.choice([rnd.randrange(32, 128), rnd.randrange(0x300, 0x370),
                                               rnd.randrange(0x370, 0x3000), rnd.randrange(0x3000, 0xD800)]))
                               for _ in range(30)))
    for text in samples:
        assert search._fold(text) == _fold_by_character(text), repr(text)


def test_word_tokens_are_the_keyed_hmac_of_each_word(settings):
    settings.BLIND_INDEX_KEY = "test-blind-index-key"
    text = "Quiero más clientes para mi clínica 1764600000000123"
    expected = " ".join(_token_by_definition("test-blind-index-key", w) for w in search.words(text))
    assert search.search_tokens(text) == expected
    assert search.words(text) == ["quiero", "mas", "clientes", "para", "clinica", "1764600000000123"]
    settings.BLIND_INDEX_KEY = "another-key"
    assert search.search_tokens(text) != expected


def _words_by_definition(text: str) -> list[str]:
    # The definition: each match of the word pattern, its edge punctuation
    # stripped, kept if 3+ characters long, first occurrences in order, at most MAX_TOKENS.
    out: list[str] = []
    for match in search._WORD.finditer(search._fold(text)):
        word = match.group(0).strip(".-+")
        if len(word) >= 3 and word not in out:
            out.append(word)
        if len(out) >= search.MAX_TOKENS:
            break
    return out


def test_words_are_the_distinct_words_in_order_of_first_appearance_at_most_max_tokens():
    assert search.words("..a.. Hola hola HOLA, --ñandú-- +34600123456 ana@x.es es") == [
        "hola", "nandu", "34600123456", "ana@x.es"]
    assert search.words("") == search.words(None) == []
    many = " ".join(f"palabra{i}" for i in range(search.MAX_TOKENS + 50))
    assert search.words(many) == [f"palabra{i}" for i in range(search.MAX_TOKENS)]
    rnd = random.Random(7)
    for _ in range(500):
        text = "".join(rnd.choice("abcñé.-+@ 1") for _ in range(rnd.randrange(0, 400)))
        assert search.words(text) == _words_by_definition(text), repr(text)
