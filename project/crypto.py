"""Encryption at rest for personal data (issue 9).

MultiFernet over FIELD_ENCRYPTION_KEYS: the first key encrypts, every key
decrypts, so a new key can be put first and `rotate_encryption_keys` re-encrypts
the rows before the old key is removed. Emails are also looked up by a keyed
blind index (HMAC-SHA256 of the normalised value), never by plaintext.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise RuntimeError("FIELD_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_str(value: str) -> str:
    return fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_str(token: str) -> str:
    return fernet().decrypt(token.encode("ascii")).decode("utf-8")


def rotate_token(token: str) -> str:
    return fernet().rotate(token.encode("ascii")).decode("ascii")


def blind_index(value: str | None) -> str | None:
    if not value:
        return None
    normalised = value.strip().lower().encode("utf-8")
    return hmac.new(settings.BLIND_INDEX_KEY.encode(), normalised, hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees the plaintext str (or None)."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return decrypt_str(value)
        except InvalidToken as exc:
            raise RuntimeError(f"cannot decrypt {self.model.__name__}.{self.name}: unknown key") from exc

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_str(str(value))


class EncryptedJSONField(models.TextField):
    """A JSON value encrypted at rest (answers, frame payloads with personal text)."""

    description = "JSON encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return None
        try:
            return json.loads(decrypt_str(value))
        except InvalidToken as exc:
            raise RuntimeError(f"cannot decrypt {self.model.__name__}.{self.name}: unknown key") from exc

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def get_prep_value(self, value):
        if value is None:
            return None
        return encrypt_str(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), default=str)
