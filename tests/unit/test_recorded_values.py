"""A recorded address or phone number is read as it was recorded: what it was checked
against when it came in (email_validator's rules, phonenumbers' plans) changes with
upgrades, and an event must stay readable forever. Requests still get the full check."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm_shared.values import RECORDED, Email, Phone

# Refused today (a special-use domain; a number no plan knows): taken when once accepted.
NOT_TODAY = "ada@printer.local"
UNPLANNED = "+10000000000"


def test_a_request_gets_the_full_check_of_an_address_and_a_phone_number() -> None:
    with pytest.raises(ValidationError):
        Email.model_validate({"address": NOT_TODAY})
    with pytest.raises(ValidationError):
        Phone.model_validate({"number": UNPLANNED})


def test_a_recorded_address_and_phone_number_are_read_as_recorded() -> None:
    assert Email.model_validate({"address": NOT_TODAY}, context=RECORDED).address == NOT_TODAY
    assert Phone.model_validate({"number": UNPLANNED}, context=RECORDED).number == UNPLANNED


@pytest.mark.parametrize("address", ["not an address", "ada@", "@example.com", "a@b@c"])
def test_a_recorded_address_must_still_be_shaped_like_one(address: str) -> None:
    with pytest.raises(ValidationError):
        Email.model_validate({"address": address}, context=RECORDED)


@pytest.mark.parametrize("number", ["4155550123", "+0155550123", "+1 415 555", "call me"])
def test_a_recorded_phone_number_not_in_e164_gets_the_full_check(number: str) -> None:
    with pytest.raises(ValidationError):
        Phone.model_validate({"number": number}, context=RECORDED)
