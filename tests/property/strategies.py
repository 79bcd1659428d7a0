"""Hypothesis strategies for valid contacts API commands: arbitrary values of every field
the request models accept, up to their limits (any Unicode text but NUL and surrogates,
any instant from the year 1 to 9999 at any offset up to +-15:59, numbers up to what
PostgreSQL numeric holds)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import phonenumbers
from hypothesis import strategies as st

from crm_shared.values import (
    NUMERIC_DIGITS_AFTER_POINT,
    NUMERIC_DIGITS_BEFORE_POINT,
    Channel,
    CompanySize,
    ConsentChannel,
    ConsentStatus,
    Direction,
)

# Stands for the id of the scenario's account until it exists.
ACCOUNT = "{account}"

CHARACTERS = st.characters(codec="utf-8", exclude_characters="\x00")


def text(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(CHARACTERS, min_size=min_size, max_size=max_size)


def stripped_text(max_size: int) -> st.SearchStrategy[str]:
    """Text with something left once surrounding whitespace goes (Python strips more
    than pydantic does, so what passes here passes there)."""
    return text(max_size, min_size=1).filter(str.strip)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


SHORT_TEXT = stripped_text(200)
# Lower-casing can lengthen text ("İ" becomes two characters): room to spare under 64.
TAG = stripped_text(32)
USER_ID = text(128, min_size=1)
LABEL = text(32)
DEPARTMENT = st.from_regex(r"\A[A-Za-z0-9_.-]{1,64}\Z")
KEY = st.from_regex(r"\A[a-z][a-z0-9_]{0,20}\Z")
COUNTRY = st.from_regex(r"\A[A-Z]{2}\Z")
DOMAIN = st.sampled_from(["example.com", "globex.example.org", "xn--bcher-kva.example.de"])

REGIONS = ["US", "GB", "FR", "DE", "JP", "IN", "BR", "AU", "ZA", "SG"]
PHONE_NUMBER = st.builds(
    phonenumbers.format_number,
    st.sampled_from(
        [
            phonenumbers.example_number_for_type(r, phonenumbers.PhoneNumberType.MOBILE)
            for r in REGIONS
        ]
    ),
    st.sampled_from(
        [phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164]
    ),
)
EMAIL_ADDRESS = st.builds(
    "{}@{}".format,
    st.from_regex(r"\A[a-z0-9](?:[a-z0-9+_-]|\.(?!\.)){0,20}[a-z0-9]\Z").filter(
        lambda local: ".." not in local
    ),
    st.sampled_from(["example.com", "mail.example.net", "bücher.example.de", "zoë.example.org"]),
)


def _utc_in_range(moment: datetime) -> bool:
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


OFFSET = st.integers(-(15 * 60 + 59), 15 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


def instants(local_times: st.SearchStrategy[datetime]) -> st.SearchStrategy[str]:
    return (
        st.builds(lambda moment, tz: moment.replace(tzinfo=tz), local_times, OFFSET)
        .filter(_utc_in_range)
        .map(datetime.isoformat)
    )


INSTANT = instants(st.datetimes())
# Within one day, offsets reorder wall clock times: the latest local time is not always
# the latest instant.
SAME_DAY_INSTANT = instants(st.datetimes(datetime(2026, 3, 1), datetime(2026, 3, 2)))


def _numeric(value: Decimal) -> bool:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return (
        value.adjusted() < NUMERIC_DIGITS_BEFORE_POINT and -exponent <= NUMERIC_DIGITS_AFTER_POINT
    )


NUMBER = (
    st.decimals(allow_nan=False, allow_infinity=False).filter(_numeric)
    | st.sampled_from(
        ["9.99E+131071", "-1E+131071", "1E-16383", "-0.0", "123456789.0123456789"]
    ).map(Decimal)
).map(str)

CUSTOM_FIELD = st.one_of(
    st.fixed_dictionaries({"type": st.just("string"), "value": text(2000)}),
    st.fixed_dictionaries({"type": st.just("number"), "value": NUMBER}),
    st.fixed_dictionaries({"type": st.just("boolean"), "value": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("date"), "value": st.dates().map(date.isoformat)}),
).flatmap(lambda field: st.fixed_dictionaries({**_just(field), "personal": st.booleans()}))


def _just(values: dict[str, Any]) -> dict[str, st.SearchStrategy[Any]]:
    return {name: st.just(value) for name, value in values.items()}


EMAIL = st.fixed_dictionaries(
    {"address": EMAIL_ADDRESS}, optional={"label": LABEL, "primary": st.booleans()}
)
PHONE = st.fixed_dictionaries({"number": PHONE_NUMBER}, optional={"label": LABEL})
ADDRESS = st.fixed_dictionaries(
    {},
    optional={
        "label": LABEL,
        "street": optional(text(200)),
        "city": optional(text(100)),
        "region": optional(text(100)),
        "postal_code": optional(text(20)),
        "country": optional(COUNTRY),
    },
)
BIRTHDAY = st.dates(max_value=datetime.now(UTC).date() - timedelta(days=1)).map(date.isoformat)

CONTACT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "first_name": optional(SHORT_TEXT),
    "last_name": optional(SHORT_TEXT),
    "emails": st.lists(EMAIL, max_size=3),
    "phones": st.lists(PHONE, max_size=3),
    "addresses": st.lists(ADDRESS, max_size=2),
    "birthday": optional(BIRTHDAY),
    "job_title": optional(SHORT_TEXT),
    "source": optional(SHORT_TEXT),
    "tags": st.lists(TAG, max_size=5),
    "custom_fields": st.dictionaries(KEY, CUSTOM_FIELD, max_size=4),
    "account_id": optional(st.just(ACCOUNT)),
}
ACCOUNT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "domain": optional(DOMAIN),
    "industry": optional(SHORT_TEXT),
    "size": optional(st.sampled_from([size.value for size in CompanySize])),
    "address": optional(ADDRESS),
}
SCOPE = {"owner": optional(USER_ID), "department": optional(DEPARTMENT)}

REGISTER_CONTACT = st.fixed_dictionaries({}, optional={**CONTACT_FIELDS, **SCOPE})
UPDATE_CONTACT = st.fixed_dictionaries({}, optional=CONTACT_FIELDS)
CREATE_ACCOUNT = st.fixed_dictionaries({"name": SHORT_TEXT}, optional={**ACCOUNT_FIELDS, **SCOPE})
UPDATE_ACCOUNT = st.fixed_dictionaries({}, optional={"name": SHORT_TEXT, **ACCOUNT_FIELDS})
INTERACTION: dict[str, st.SearchStrategy[Any]] = {
    "channel": st.sampled_from([c.value for c in Channel]),
    "direction": st.sampled_from([d.value for d in Direction]),
}
INTERACTION_DETAILS: dict[str, st.SearchStrategy[Any]] = {
    "subject": optional(text(500)),
    "notes": optional(text(2000)),
    "by": optional(USER_ID),
}
LOG_INTERACTION = st.fixed_dictionaries(
    INTERACTION, optional={**INTERACTION_DETAILS, "occurred_at": optional(INSTANT)}
)
LOG_TIMED_INTERACTION = st.fixed_dictionaries(
    {**INTERACTION, "occurred_at": SAME_DAY_INSTANT | INSTANT}, optional=INTERACTION_DETAILS
)
SET_CONSENT = st.fixed_dictionaries(
    {"status": st.sampled_from([s.value for s in ConsentStatus])},
    optional={"source": optional(text(200)), "at": optional(INSTANT)},
)
ARCHIVE = st.fixed_dictionaries({}, optional={"reason": optional(text(500))})
REASSIGN = st.fixed_dictionaries({"owner": optional(USER_ID), "department": DEPARTMENT})
CONSENT_CHANNEL = st.sampled_from([c.value for c in ConsentChannel])


@dataclass(frozen=True)
class Command:
    """One request: to the contact or the account (``record``), at ``path`` under it."""

    record: str
    method: str
    path: str
    body: dict[str, Any] | None


def _command(record: str) -> st.SearchStrategy[Command]:
    update = UPDATE_CONTACT if record == "contact" else UPDATE_ACCOUNT
    return st.one_of(
        st.builds(Command, st.just(record), st.just("PATCH"), st.just(""), update),
        st.builds(
            Command, st.just(record), st.just("POST"), st.just("/interactions"), LOG_INTERACTION
        ),
        st.builds(
            Command,
            st.just(record),
            st.just("PUT"),
            CONSENT_CHANNEL.map("/consents/{}".format),
            SET_CONSENT,
        ),
        st.builds(Command, st.just(record), st.just("POST"), st.just("/archive"), ARCHIVE),
        st.builds(Command, st.just(record), st.just("PUT"), st.just("/assignment"), REASSIGN),
    )


@dataclass(frozen=True)
class Scenario:
    """An account and a contact created, interactions logged with the contact (instants
    are where the stores differ most), then other changes: archived records are restored
    after each command, so every command is one the records accept."""

    account: dict[str, Any]
    contact: dict[str, Any]
    interactions: list[dict[str, Any]]
    commands: list[Command]


SCENARIO = st.builds(
    Scenario,
    CREATE_ACCOUNT,
    REGISTER_CONTACT,
    st.lists(LOG_TIMED_INTERACTION, min_size=2, max_size=4),
    st.lists(_command("contact") | _command("account"), max_size=5),
)


# --- recorded events -------------------------------------------------------------------
# What the catalog decodes as the event store reads it (the RECORDED context), including
# what the API refuses today and may have accepted before: NUL anywhere, offsets up to
# +-23:59, instants outside the years 1 to 9999 in UTC, numbers beyond PostgreSQL numeric,
# text of any length where the catalog sets none.

ANY_CHARACTERS = st.characters(codec="utf-8")


def any_text(max_size: int = 300, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(ANY_CHARACTERS, min_size=min_size, max_size=max_size)


ANY_OFFSET = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
ANY_INSTANT = st.builds(
    lambda moment, tz: moment.replace(tzinfo=tz).isoformat(), st.datetimes(), ANY_OFFSET
)
ANY_NUMBER = st.decimals(allow_nan=False, allow_infinity=False).map(str) | st.sampled_from(
    ["1E+999999", "-4.2E-99999"]
)
RECORDED_CUSTOM_FIELD = st.one_of(
    st.fixed_dictionaries({"type": st.just("string"), "value": any_text(2000)}),
    st.fixed_dictionaries({"type": st.just("number"), "value": ANY_NUMBER}),
    st.fixed_dictionaries({"type": st.just("boolean"), "value": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("date"), "value": st.dates().map(date.isoformat)}),
)
RECORDED_ADDRESS = st.fixed_dictionaries(
    {},
    optional={
        "label": any_text(32),
        "street": optional(any_text(200)),
        "city": optional(any_text(100)),
        "postal_code": optional(any_text(20)),
    },
)
RECORDED_CONTACT: dict[str, st.SearchStrategy[Any]] = {
    "first_name": optional(any_text()),
    "last_name": optional(any_text()),
    "emails": st.lists(
        st.fixed_dictionaries({"address": EMAIL_ADDRESS}, optional={"label": any_text(32)}),
        max_size=2,
    ),
    "phones": st.lists(
        st.fixed_dictionaries({"number": PHONE_NUMBER}, optional={"label": any_text(32)}),
        max_size=2,
    ),
    "addresses": st.lists(RECORDED_ADDRESS, max_size=2),
    "birthday": optional(st.dates().map(date.isoformat)),
    "job_title": optional(any_text()),
    "source": optional(any_text()),
    "tags": st.lists(any_text(3000), max_size=3),
    "custom_fields": st.dictionaries(any_text(64), RECORDED_CUSTOM_FIELD, max_size=3),
}
RECORDED_SCOPE: dict[str, st.SearchStrategy[Any]] = {
    "owner": optional(any_text(3000)),
    "department": any_text(3000),
}


def _recorded(name: str, data: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    return st.tuples(st.just(name), data)


RECORDED_CONTACT_CHANGE = st.one_of(
    _recorded("updated", st.fixed_dictionaries({}, optional=RECORDED_CONTACT)),
    _recorded(
        "interaction_logged",
        st.fixed_dictionaries(
            {
                "interaction_id": st.uuids().map(str),
                "channel": st.sampled_from([c.value for c in Channel]),
                "direction": st.sampled_from([d.value for d in Direction]),
                "occurred_at": ANY_INSTANT,
            },
            optional={
                "subject": optional(any_text()),
                "notes": optional(any_text(2000)),
                "by": optional(any_text()),
            },
        ),
    ),
    *(
        _recorded(
            f"consent_{status}",
            st.fixed_dictionaries(
                {"channel": CONSENT_CHANNEL, "at": ANY_INSTANT},
                optional={"source": optional(any_text())},
            ),
        )
        for status in ("granted", "withdrawn")
    ),
    _recorded("archived", st.fixed_dictionaries({}, optional={"reason": optional(any_text())})),
    _recorded("restored", st.just({})),
    _recorded("reassigned", st.fixed_dictionaries(RECORDED_SCOPE)),
    _recorded("erased", st.just({})),
)
RECORDED_ACCOUNT: dict[str, st.SearchStrategy[Any]] = {
    "domain": optional(any_text()),
    "industry": optional(any_text()),
    "address": optional(RECORDED_ADDRESS),
}
RECORDED_ACCOUNT_CHANGE = _recorded(
    "updated", st.fixed_dictionaries({}, optional={"name": any_text(3000), **RECORDED_ACCOUNT})
)


@dataclass(frozen=True)
class RecordedHistory:
    """A contact's and an account's recorded events (name and data), oldest first, and
    when and by whom each was recorded."""

    contact: list[tuple[str, dict[str, Any]]]
    account: list[tuple[str, dict[str, Any]]]
    recorded_at: str
    actor: str


RECORDED_HISTORY = st.builds(
    RecordedHistory,
    st.builds(
        lambda registered, changes: [("registered", registered), *changes],
        st.fixed_dictionaries(RECORDED_SCOPE, optional=RECORDED_CONTACT),
        st.lists(RECORDED_CONTACT_CHANGE, max_size=6),
    ),
    st.builds(
        lambda created, changes: [("created", created), *changes],
        st.fixed_dictionaries(
            {"name": any_text(3000), **RECORDED_SCOPE}, optional=RECORDED_ACCOUNT
        ),
        st.lists(RECORDED_ACCOUNT_CHANGE, max_size=2),
    ),
    ANY_INSTANT,
    any_text(),
)
