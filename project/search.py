"""Searching encrypted text without storing it in the clear.

Each stored text also gets a list of blind word tokens: a keyed HMAC of every
normalised word (accents and case folded, short words dropped), truncated to
12 hex chars. A query is tokenised the same way and matched with a FULLTEXT
index on MariaDB/MySQL (boolean mode, every word required). The database
never sees a plaintext word; a stolen dump without the key reveals nothing
but repetition.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from functools import lru_cache

from django.conf import settings

_WORD = re.compile(r"[\w@.+-]{3,}", re.UNICODE)
MAX_TOKENS = 200


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _token(word: str) -> str:
    return _keyed_token(settings.BLIND_INDEX_KEY, word)


@lru_cache(maxsize=20_000)
def _keyed_token(key: str, word: str) -> str:
    # Every stored turn is tokenised on the message path, in the web process
    # that streams the replies; a language's common words repeat from turn to
    # turn, so most of them cost a dictionary lookup instead of an HMAC.
    digest = hmac.new(key.encode(), b"w:" + word.encode(), hashlib.sha256).hexdigest()
    # FULLTEXT indexes ignore tokens that start with a digit on some parsers: prefix a letter.
    return "t" + digest[:12]


def words(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for match in _WORD.finditer(_fold(text or "")):
        word = match.group(0).strip(".-+")
        if len(word) >= 3:
            seen.setdefault(word, None)
        if len(seen) >= MAX_TOKENS:
            break
    return list(seen)


def search_tokens(text: str) -> str:
    return " ".join(_token(w) for w in words(text))


def query_tokens(query: str) -> list[str]:
    return [_token(w) for w in words(query)][:10]
