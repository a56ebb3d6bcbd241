"""Secrets at rest: Fernet encryption (the `cryptography` package) with keys from the environment.

`settings.SECRETS_KEYS` (env `SECRETS_KEY`, comma-separated Fernet keys) feeds a MultiFernet: the
first key encrypts, every key decrypts, so a key is rotated by putting a new one first, running
`manage.py rotate_secrets_key` (re-encrypts every EncryptedTextField value with the first key)
and then dropping the old key. docs/operations.md "Secrets at rest".

The model field is written here (about thirty lines) rather than taken from an
encrypted-fields package: the maintained ones either derive their key from SECRET_KEY (so
rotating SECRET_KEY, which signs sessions, would lose every stored secret) or do not rotate
keys; MultiFernet gives both with nothing else to trust. Fernet is randomised (AES-CBC + HMAC
with a fresh IV), so an encrypted column cannot be filtered on by value: the secrets are only
ever read by primary key.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.strip().encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("SECRETS_KEY must be a comma-separated list of Fernet keys "
                                   "(32 url-safe base64-encoded bytes each).") from exc


def fernet() -> MultiFernet:
    """The MultiFernet of the keys in force (cached per key list, so a test may override them)."""
    return _fernet(tuple(settings.SECRETS_KEYS))


def encrypt(plain: str) -> str:
    return fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        # never fall back to the stored text: a wrong key must be loud, not sign with garbage
        raise ImproperlyConfigured("A stored secret cannot be decrypted with any key in SECRETS_KEY "
                                   "(was the key that encrypted it removed?).") from exc


def rotate(token: str) -> str:
    """The same plain text, encrypted again with the first key."""
    return fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column stored Fernet-encrypted; Python code reads and writes the plain text.

    The empty string and NULL are stored as they are (an unset optional secret)."""

    description = "Text encrypted at rest with SECRETS_KEY"

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every concrete model with EncryptedTextFields, and their names (for key rotation)."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found
