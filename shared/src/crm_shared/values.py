"""Value types shared by requests and events: validated once, stored normalised."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64)
]
Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


def _to_e164(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"not a phone number in international format: {error}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


PhoneNumber = Annotated[
    str,
    StringConstraints(max_length=40),
    AfterValidator(_to_e164),
    Field(description="International format, stored as E.164", examples=["+14155550123"]),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Email(Strict):
    address: EmailStr
    label: Annotated[str, StringConstraints(max_length=32)] = "work"
    primary: bool = False


class Phone(Strict):
    number: PhoneNumber
    label: Annotated[str, StringConstraints(max_length=32)] = "work"


class PostalAddress(Strict):
    label: Annotated[str, StringConstraints(max_length=32)] = "work"
    street: Annotated[str, StringConstraints(max_length=200)] | None = None
    city: Annotated[str, StringConstraints(max_length=100)] | None = None
    region: Annotated[str, StringConstraints(max_length=100)] | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = Field(
        default=None, description="ISO 3166-1 alpha-2"
    )


class StringField(Strict):
    type: Literal["string"] = "string"
    value: Annotated[str, StringConstraints(max_length=2000)]
    personal: bool = False


class NumberField(Strict):
    type: Literal["number"] = "number"
    value: Decimal
    personal: bool = False


class BooleanField(Strict):
    type: Literal["boolean"] = "boolean"
    value: bool
    personal: bool = False


class DateField(Strict):
    type: Literal["date"] = "date"
    value: date
    personal: bool = False


CustomField = Annotated[
    StringField | NumberField | BooleanField | DateField, Field(discriminator="type")
]


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    SMS = "sms"
    CHAT = "chat"
    WEB = "web"
    SOCIAL = "social"
    IN_PERSON = "in_person"
    FAX = "fax"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ConsentChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class CompanySize(StrEnum):
    SOLO = "1"
    SMALL = "2-10"
    MEDIUM = "11-50"
    LARGE = "51-200"
    XLARGE = "201-1000"
    ENTERPRISE = "1001+"
