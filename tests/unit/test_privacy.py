"""Sealing personal fields and wrapping data keys: pure functions, no I/O."""

from __future__ import annotations

import base64
import os
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crm_shared.master_key import InvalidMasterKey, MasterKey
from crm_shared.privacy.cipher import (
    ERASED,
    UnreadableValue,
    is_sealed,
    new_data_key,
    open_value,
    reveal,
    seal,
    seal_value,
    sealed_by,
    sealed_data_subjects,
)

SUBJECT = uuid4()
KEY = new_data_key()
DATA = {
    "first_name": "Ada",
    "emails": [{"address": "ada@example.com"}],
    "birthday": None,
    "department": "sales",
    "custom_fields": {
        "nickname": {"type": "string", "value": "Countess", "personal": True},
        "plan": {"type": "string", "value": "gold", "personal": False},
    },
}
PERSONAL = ("first_name", "emails", "birthday")


def sealed() -> dict[str, object]:
    return seal(DATA, PERSONAL, key=KEY, service="contacts", data_subject=SUBJECT)


def test_personal_values_are_sealed_and_open_again_with_the_persons_key() -> None:
    data = sealed()
    assert is_sealed(data["first_name"]) and is_sealed(data["emails"])
    assert data["birthday"] is None, "null holds nothing personal: it stays null"
    assert data["department"] == "sales"
    assert is_sealed(data["custom_fields"]["nickname"]["value"])  # type: ignore[index]
    assert data["custom_fields"]["plan"]["value"] == "gold"  # type: ignore[index]
    assert sealed_data_subjects(data, PERSONAL) == {("contacts", SUBJECT)}
    assert reveal(data, PERSONAL, {("contacts", SUBJECT): KEY}) == DATA


def test_sealing_the_same_value_twice_gives_different_ciphertexts() -> None:
    first, second = sealed()["first_name"], sealed()["first_name"]
    assert first != second, "a fresh nonce every time: equal values cannot be matched up"


def test_a_sealed_value_names_its_owner_and_subject_but_not_its_content() -> None:
    value = seal_value("ada@example.com", key=KEY, service="contacts", data_subject=SUBJECT)
    assert value.startswith(f"pii:v1:contacts:{SUBJECT}:")
    assert sealed_by(value) == ("contacts", SUBJECT)
    assert "ada" not in value.lower()


def test_a_tampered_or_wrongly_keyed_value_does_not_open() -> None:
    value = seal_value("Ada", key=KEY, service="contacts", data_subject=SUBJECT)
    *head, blob = value.split(":")
    raw = bytearray(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)))
    raw[-1] ^= 1
    tampered = ":".join([*head, base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")])
    with pytest.raises(UnreadableValue):
        open_value(tampered, KEY)
    with pytest.raises(UnreadableValue):
        open_value(value, new_data_key())
    with pytest.raises(UnreadableValue):
        open_value(value.replace(":contacts:", ":sales:"), KEY)
    with pytest.raises(UnreadableValue):
        sealed_by("pii:v1:contacts:not-a-uuid:abc")


def test_without_the_key_values_stay_sealed_and_once_erased_they_read_as_gone() -> None:
    data = sealed()
    assert reveal(data, PERSONAL, {}) == data
    erased = reveal(data, PERSONAL, {("contacts", SUBJECT): ERASED}, erased=None)
    assert erased["first_name"] is None and erased["emails"] is None
    assert erased["custom_fields"] == {"plan": DATA["custom_fields"]["plan"]}  # type: ignore[index]


def test_the_master_key_wraps_data_keys_and_only_it_unwraps_them() -> None:
    master = MasterKey(os.urandom(32))
    wrapped = master.wrap(KEY)
    assert KEY not in wrapped and master.unwrap(wrapped) == KEY
    with pytest.raises(InvalidMasterKey):
        MasterKey(os.urandom(32)).unwrap(wrapped)
    assert master.key_id != MasterKey(os.urandom(32)).key_id
    assert master.key_id == MasterKey(master._key).key_id


@pytest.mark.parametrize("text", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_master_key_that_is_not_32_bytes_of_base64_is_refused(text: str) -> None:
    with pytest.raises(InvalidMasterKey):
        MasterKey.from_base64(text)


def test_null_and_empty_lists_hold_nothing_personal_and_are_not_sealed() -> None:
    data = {"first_name": None, "emails": [], "phones": [], "department": "sales"}
    assert (
        seal(data, ("first_name", "emails", "phones"), key=KEY, service="c", data_subject=SUBJECT)
        == data
    )


def test_text_that_looks_sealed_outside_a_personal_field_is_left_alone() -> None:
    data = sealed() | {"department": f"pii:v1:contacts:{SUBJECT}:AAAA"}
    assert sealed_data_subjects(data, PERSONAL) == {("contacts", SUBJECT)}
    assert reveal(data, PERSONAL, {("contacts", SUBJECT): KEY})["department"] == data["department"]


def test_a_look_alike_value_in_an_ordinary_custom_field_beside_a_personal_one_stays_text() -> None:
    data = sealed()
    data["custom_fields"]["plan"] = {"type": "string", "value": "pii:v1:x:y:z"}  # type: ignore[index]
    opened = reveal(data, PERSONAL, {("contacts", SUBJECT): KEY})
    assert opened["custom_fields"]["plan"]["value"] == "pii:v1:x:y:z"
    assert opened["custom_fields"]["nickname"]["value"] == "Countess"


def test_values_open_with_a_cipher_made_from_their_key_as_with_the_key() -> None:
    # A consumer makes one cipher per person for a batch and opens all their values with it.
    data = sealed()
    cipher = AESGCM(KEY)
    assert reveal(data, PERSONAL, {("contacts", SUBJECT): cipher}) == DATA
    assert open_value(str(data["first_name"]), cipher) == "Ada"


def test_a_cipher_made_from_another_key_opens_nothing() -> None:
    with pytest.raises(UnreadableValue):
        reveal(sealed(), PERSONAL, {("contacts", SUBJECT): AESGCM(new_data_key())})
