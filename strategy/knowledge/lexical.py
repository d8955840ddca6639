"""The sparse lexical vector: Spanish words to hashed stem ids with BM25-style
weights, deterministic across processes and machines.

Each word is lowercased, stopwords dropped, stemmed with Snowball's Spanish
stemmer and accent-folded. Because the stemmer only recognises accented
suffixes ("publicación" → "public", "publicacion" → "publicacion"), a word
also yields the stem of its accent-folded form, so text typed without
accents still meets text written with them.

Weights use only the chunk itself (BM25's term saturation and length
normalisation against a fixed average length), never statistics of the whole
collection: one agency's documents must not change how another's rank.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_K1 = 1.2
_B = 0.75
_AVERAGE_TERMS = 120.0
MAX_TERMS = 2000

_STOPWORDS_RAW = """
a al algo algunas algunos ante antes como con contra cual cuales cuando de del desde donde dos durante e el
ella ellas ellos en entre era eran es esa esas ese eso esos esta estas este esto estos está están estar fue
fueron ha han hasta hay la las le les lo los más me mi mis mucho muchos muy nada ni no nos nosotros o os otra
otras otro otros para pero poco por porque que qué quien quienes se sea ser si sí sin sobre son su sus también
tan tanto te ti tiene tienen todo todos tu tus un una unas uno unos vosotros y ya yo él ésta éste este cada
les nuestro nuestra nuestros nuestras vuestro vuestra su suyo hacer hace puede pueden según así aquí allí
the and of to in for on is are with
"""


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    # ñ stays ñ: "año" and "ano" are different words in Spanish.
    out = []
    for ch in decomposed:
        if unicodedata.combining(ch):
            if ch == "\u0303" and out and out[-1] in "nN":
                out[-1] = "ñ" if out[-1] == "n" else "Ñ"
            continue
        out.append(ch)
    return "".join(out)


_STOPWORDS = frozenset(fold(word) for word in _STOPWORDS_RAW.split())
_stemmer = snowballstemmer.stemmer("spanish")


@lru_cache(maxsize=50_000)
def _forms(word: str) -> tuple[str, ...]:
    folded = fold(word)
    if folded in _STOPWORDS or (len(folded) < 2 and not folded.isdigit()):
        return ()
    forms = {fold(_stemmer.stemWord(word)), _stemmer.stemWord(folded)}
    return tuple(sorted(form for form in forms if form))


def terms(text: str) -> list[str]:
    """Every term of `text`, repeated as often as it occurs."""
    out: list[str] = []
    # Prices matter in an agency's documents: "490 €" and "490 euros" are the same thing.
    for match in _WORD.finditer(text.lower().replace("€", " euros ")):
        out.extend(_forms(match.group(0)))
    return out


def term_id(term: str) -> int:
    # 31 bits: Qdrant's sparse indices are uint32 and some clients read them as signed.
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "big") & 0x7FFFFFFF


def _to_sparse(weights: dict[int, float]):
    from qdrant_client import models

    indices = sorted(weights)
    return models.SparseVector(indices=indices, values=[float(weights[i]) for i in indices])


def document_vector(text: str):
    """BM25 document-side weights of a chunk's terms."""
    counts = Counter(terms(text))
    length = sum(counts.values()) or 1
    norm = _K1 * (1 - _B + _B * length / _AVERAGE_TERMS)
    weights: dict[int, float] = {}
    for term, tf in counts.most_common(MAX_TERMS):
        key = term_id(term)
        weights[key] = weights.get(key, 0.0) + tf * (_K1 + 1) / (tf + norm)
    return _to_sparse(weights)


def query_vector(text: str):
    """Each distinct query term once: the document side carries the weights."""
    return _to_sparse({term_id(term): 1.0 for term in dict.fromkeys(terms(text))})
