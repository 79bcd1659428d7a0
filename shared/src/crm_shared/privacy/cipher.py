"""Personal fields sealed with their data subject's key (AES-256-GCM), and opened again.

A sealed value is one self-describing string, so any consumer can tell which key opens it
without knowing our event catalog::

    pii:v1:<owning service>:<subject id>:<base64url(12-byte nonce + ciphertext + tag)>

The plaintext is the field's JSON value. The associated data binds the ciphertext to its
data subject: a value copied under another person's id does not open.

What is sealed in an event's data: every top-level field the catalog marks personal (unless
it is null or an empty list: nothing personal in those), and the ``value`` of any custom
field marked ``"personal": true``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "pii:v1:"
NONCE_BYTES = 12
KEY_BYTES = 32


class Erased:
    """Stands for a value whose data subject's key was deleted: it can never be read again."""

    def __repr__(self) -> str:
        return "ERASED"


ERASED = Erased()


class UnreadableValue(ValueError):
    """A sealed value that does not open with its data subject's key (tampered or mislabelled)."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def _associated_data(service: str, data_subject: UUID | str) -> bytes:
    return f"{PREFIX}{service}:{data_subject}".encode()


def seal_bytes(plaintext: bytes, *, key: bytes | AESGCM, service: str, data_subject: UUID) -> str:
    cipher = key if isinstance(key, AESGCM) else AESGCM(key)
    nonce = os.urandom(NONCE_BYTES)
    sealed = cipher.encrypt(nonce, plaintext, _associated_data(service, data_subject))
    text = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"{PREFIX}{service}:{data_subject}:{text}"


def seal_value(value: Any, *, key: bytes | AESGCM, service: str, data_subject: UUID) -> str:
    return seal_bytes(orjson.dumps(value), key=key, service=service, data_subject=data_subject)


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def sealed_by(value: str) -> tuple[str, UUID]:
    """The owning service and the data subject whose key opens a sealed value."""
    try:
        return _owner(value[: value.rindex(":")])
    except ValueError:
        raise UnreadableValue("malformed sealed value") from None


@lru_cache(maxsize=4_096)
def _owner(head: str) -> tuple[str, UUID]:
    # One person's values share their head (pii:v1:<service>:<data_subject>): parse it once
    # per batch. An entry takes about 390 bytes: 65,536 of them (the size until issue 13)
    # kept 25 MB of a long-running consumer's memory for heads it would not see again.
    service, data_subject = head[len(PREFIX) :].split(":", 1)
    return service, UUID(data_subject)


def open_bytes(value: str, key: bytes | AESGCM) -> bytes:
    """The plaintext of a sealed value. Pass an ``AESGCM`` to open several values with one
    key: making one costs more than opening a value with it."""
    try:
        # The head is exactly the associated data the value was sealed with.
        head, text = value.rsplit(":", 1)
        blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        cipher = key if isinstance(key, AESGCM) else AESGCM(key)
        return cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], head.encode())
    except (ValueError, InvalidTag):
        raise UnreadableValue("sealed value does not open with its data subject's key") from None


def open_value(value: str, key: bytes | AESGCM) -> Any:
    return orjson.loads(open_bytes(value, key))


# --- whole event data ------------------------------------------------------------------


def holds_data(value: Any) -> bool:
    return value is not None and value != [] and value != {}


def needs_sealing(data: Mapping[str, Any], personal_fields: Iterable[str]) -> bool:
    return any(holds_data(data.get(name)) for name in personal_fields) or any(
        _personal_custom_fields(data)
    )


def seal(
    data: dict[str, Any],
    personal_fields: Iterable[str],
    *,
    key: bytes,
    service: str,
    data_subject: UUID,
) -> dict[str, Any]:
    """A copy of ``data`` (JSON-mode) with its personal values sealed."""
    cipher = AESGCM(key)
    sealed = dict(data)
    for name in personal_fields:
        if holds_data(sealed.get(name)):
            sealed[name] = seal_value(
                sealed[name], key=cipher, service=service, data_subject=data_subject
            )
    for parent, name, field in _personal_custom_fields(data):
        if sealed[parent] is data[parent]:
            sealed[parent] = dict(data[parent])
        value = seal_value(field["value"], key=cipher, service=service, data_subject=data_subject)
        sealed[parent][name] = {**field, "value": value}
    return sealed


def _personal_custom_fields(data: Mapping[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    for parent, value in data.items():
        if isinstance(value, dict):
            for name, field in value.items():
                if _is_personal_custom_field(field):
                    yield parent, name, field


def _is_personal_custom_field(field: Any) -> bool:
    return isinstance(field, dict) and field.get("personal") is True and "value" in field


def sealed_data_subjects(
    data: Mapping[str, Any], personal_fields: Iterable[str]
) -> set[tuple[str, UUID]]:
    """Every (service, data subject) whose key the data's sealed values need."""
    return {sealed_by(value) for value in _sealed_values(data, personal_fields)}


def _sealed_values(data: Mapping[str, Any], personal_fields: Iterable[str]) -> Iterable[str]:
    """Only where ``seal`` puts them: personal fields and personal custom fields. A string
    that merely looks sealed in any other field is someone's text, not ours to open."""
    for name in personal_fields:
        if is_sealed(data.get(name)):
            yield data[name]
    for _, _, field in _personal_custom_fields(data):
        if is_sealed(field["value"]):
            yield field["value"]


# A key, or the cipher made from it (cheaper when it opens several values).
KeyLookup = Mapping[tuple[str, UUID], "bytes | AESGCM | Erased | None"]


def reveal(
    data: dict[str, Any],
    personal_fields: Iterable[str],
    keys: KeyLookup,
    *,
    erased: Any = ERASED,
) -> dict[str, Any]:
    """``data`` with the sealed values of its personal fields opened where ``keys`` holds
    their key.

    A key mapped to ``ERASED`` opens nothing: the value becomes ``erased`` (a custom field
    whose value is erased is left out). A key that is missing leaves the sealed string
    in place: a consumer without access sees an opaque placeholder, never an error.
    """
    opened = dict(data)
    for name in personal_fields:
        value = data.get(name)
        if isinstance(value, str) and value.startswith(PREFIX):
            value = _open(value, keys)
            opened[name] = erased if value is ERASED else value
    for parent in {parent for parent, _, _ in _personal_custom_fields(data)}:
        opened[parent] = _reveal_custom_fields(data[parent], keys)
    return opened


def _open(value: str, keys: KeyLookup) -> Any:
    key = keys.get(sealed_by(value))
    if key is None:
        return value
    if isinstance(key, Erased):
        return ERASED
    return open_value(value, key)


def _reveal_custom_fields(fields: dict[str, Any], keys: KeyLookup) -> dict[str, Any]:
    revealed: dict[str, Any] = {}
    for name, field in fields.items():
        if _is_personal_custom_field(field) and is_sealed(field["value"]):
            value = _open(field["value"], keys)
            if value is ERASED:
                continue
            field = {**field, "value": value}
        revealed[name] = field
    return revealed
