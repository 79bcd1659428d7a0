"""How the customer 360 names a contact and what its search finds it by."""

from __future__ import annotations

from crm_projections.customer360.documents import display_name, search_text
from crm_shared.catalog.contacts import ContactErased, ContactRegistered
from crm_shared.values import Email, Phone
from tests.projections.specs.customer360 import contact

EMAIL = Email(address="ada@example.com")


def named(**fields: object) -> dict[str, object]:
    doc = contact(ContactRegistered.model_validate({"department": "sales", **fields}))
    assert doc is not None
    return doc


def test_a_contact_is_named_by_first_and_last_name() -> None:
    assert display_name(named(first_name="Ada", last_name="Lovelace")) == "Ada Lovelace"
    assert display_name(named(last_name="Lovelace")) == "Lovelace"


def test_a_contact_without_a_name_is_named_by_its_first_email() -> None:
    assert display_name(named(emails=[EMAIL])) == "ada@example.com"


def test_an_erased_contact_has_no_name_to_show() -> None:
    doc = contact(
        ContactRegistered(first_name="Ada", emails=[EMAIL], department="s"), ContactErased()
    )
    assert doc is not None and display_name(doc) == ""


def test_search_finds_a_contact_by_name_and_email_in_any_case() -> None:
    text = search_text(named(first_name="Ada", last_name="Lovelace", emails=[EMAIL]))
    assert "ada lovelace" in text and "ada@example.com" in text
    assert text == text.lower()


def test_search_finds_a_phone_with_or_without_its_plus() -> None:
    text = search_text(named(phones=[Phone(number="+14155550123")]))
    assert "+14155550123" in text.split() and "14155550123" in text.split()
