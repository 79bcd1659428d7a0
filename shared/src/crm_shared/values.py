"""Value types shared by requests and events: validated once, stored normalised.

What a request may carry is what every store of ours can hold: the event store, the
topics (JSON via orjson) and the read models (PostgreSQL ``text``, ``jsonb``,
``timestamptz`` and ``numeric``, read back into Python). So text refuses NUL and lone
surrogates, instants refuse offsets and years PostgreSQL or Python cannot represent, and
numbers refuse what PostgreSQL ``numeric`` cannot hold. Each refusal is a validation
error naming the field, so the client hears about it (422) instead of a read model
failing on the event later.

These types are also the catalog's (events carry emails, addresses, custom fields): an
event stored before a rule existed must stay readable forever, so the event store reads
recorded events with the ``RECORDED`` context, which lets through what a rule added since
would refuse. The read models cope with such old values themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    GetCoreSchemaHandler,
    StringConstraints,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

# Validation context for reading recorded events (``model_validate(data, context=RECORDED)``).
RECORDED: Final[dict[str, bool]] = {"recorded": True}


def _recorded(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and info.context.get("recorded") is True


def _storable_text(text: str, info: ValidationInfo) -> str:
    if "\x00" in text and not _recorded(info):
        # PostgreSQL text and jsonb have no way to hold U+0000.
        raise PydanticCustomError("nul_character", "Text must not contain the NUL character")
    try:
        text.encode()
    except UnicodeEncodeError:
        # Half of a UTF-16 pair is not Unicode text: no UTF-8 encoder (orjson, PostgreSQL)
        # takes it. Such text was never stored, so even recorded events cannot hold it.
        raise PydanticCustomError(
            "lone_surrogate", "Text must not contain an unpaired surrogate (U+D800-U+DFFF)"
        ) from None
    return text


@dataclass(frozen=True, slots=True)
class Text:
    """Text every store can hold, with its length limits: ``Annotated[str, Text(200)]``
    (on ``str`` only: it replaces the type's own schema).

    ``strip`` trims surrounding whitespace and ``lower`` lower-cases, both before the
    lengths are checked. The JSON Schema shows the limits as for any constrained string.
    """

    max_length: int
    min_length: int | None = None
    strip: bool = False
    lower: bool = False

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.with_info_after_validator_function(
            _storable_text,
            core_schema.str_schema(
                max_length=self.max_length,
                min_length=self.min_length,
                strip_whitespace=self.strip or None,
                to_lower=self.lower or None,
            ),
        )


ShortText = Annotated[str, Text(200, min_length=1, strip=True)]
LongText = Annotated[str, Text(20_000)]
Label = Annotated[str, Text(32)]
Tag = Annotated[str, Text(64, min_length=1, strip=True, lower=True)]
Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]

# PostgreSQL refuses a UTC offset of 16 hours or more (Python allows up to 24).
MAX_UTC_OFFSET: Final = timedelta(hours=16)


def _storable_instant(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is not None and abs(offset) >= MAX_UTC_OFFSET:
        raise PydanticCustomError(
            "timezone_offset_out_of_range", "The UTC offset must lie between -15:59 and +15:59"
        )
    try:
        # Read models store instants in UTC, and Python holds years 1 to 9999 only:
        # 0001-01-01T00:00+01:00 is a moment of the year 0 in UTC.
        value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_out_of_range",
            "The instant must lie between 0001-01-01 and 9999-12-31 in UTC",
        ) from None
    return value


# For requests: the catalog's instants stay plain datetimes (crm_shared.catalog.contacts).
Instant = Annotated[AwareDatetime, AfterValidator(_storable_instant)]

# What PostgreSQL numeric (and so a jsonb number) can hold.
NUMERIC_DIGITS_BEFORE_POINT: Final = 131_072
NUMERIC_DIGITS_AFTER_POINT: Final = 16_383


def _storable_number(value: Decimal, info: ValidationInfo) -> Decimal:
    if _recorded(info):
        return value
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: pydantic refuses NaN and infinity
    if value.adjusted() >= NUMERIC_DIGITS_BEFORE_POINT or -exponent > NUMERIC_DIGITS_AFTER_POINT:
        raise PydanticCustomError(
            "number_out_of_range",
            "The number must have at most 131072 digits before the point and 16383 after",
        )
    return value


Number = Annotated[Decimal, AfterValidator(_storable_number)]


# The shapes of an address and of a phone number as they are recorded (normalised). A
# recorded value of that shape is read as recorded, not checked again in full: it passed
# the full check when it came in, and a later email_validator or phonenumbers (new rules,
# new numbering plans) must not make its event unreadable. The full checks are also most
# of the cost of reading an event (tens of microseconds per value).
RECORDED_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")
RECORDED_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def _recorded_address(value: Any, check: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    if _recorded(info) and isinstance(value, str) and RECORDED_ADDRESS.fullmatch(value):
        return value
    return check(value)


def _to_e164(number: str, info: ValidationInfo) -> str:
    if _recorded(info) and RECORDED_E164.fullmatch(number):
        return number
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"not a phone number in international format: {error}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


PhoneNumber = Annotated[
    str,
    Text(40),
    AfterValidator(_to_e164),
    Field(description="International format, stored as E.164", examples=["+14155550123"]),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Email(Strict):
    address: Annotated[EmailStr, WrapValidator(_recorded_address)]
    label: Label = "work"
    primary: bool = False


class Phone(Strict):
    number: PhoneNumber
    label: Label = "work"


class PostalAddress(Strict):
    label: Label = "work"
    street: Annotated[str, Text(200)] | None = None
    city: Annotated[str, Text(100)] | None = None
    region: Annotated[str, Text(100)] | None = None
    postal_code: Annotated[str, Text(20)] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = Field(
        default=None, description="ISO 3166-1 alpha-2"
    )


class StringField(Strict):
    type: Literal["string"] = "string"
    value: Annotated[str, Text(2000)]
    personal: bool = False


class NumberField(Strict):
    type: Literal["number"] = "number"
    value: Number
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
