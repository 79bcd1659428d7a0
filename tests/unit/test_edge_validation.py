"""What the contacts API accepts, every store can hold: the request models refuse, naming
the field, any text PostgreSQL or orjson cannot take (NUL, a lone surrogate), instants
PostgreSQL or Python cannot represent in UTC, and numbers PostgreSQL numeric cannot hold.

FastAPI parses a body with ``json.loads`` and validates the resulting objects, so these
specifications validate Python objects the same way (``json.loads`` lets a lone
surrogate such as ``"\\ud800"`` through)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from crm_contacts.api import schemas
from crm_contacts.api.schemas import (
    Archive,
    CreateAccount,
    LogInteraction,
    Reassign,
    RegisterContact,
    SetConsent,
    UpdateAccount,
    UpdateContact,
)
from crm_shared.catalog.contacts import ContactRegistered
from crm_shared.records import schemas as record_schemas
from crm_shared.values import (
    RECORDED,
    BooleanField,
    DateField,
    Email,
    NumberField,
    Phone,
    PostalAddress,
    StringField,
)

Path = tuple[str | int, ...]

EMAIL = {"address": "ada@example.com", "label": "work", "primary": True}
PHONE = {"number": "+14155550123", "label": "mobile"}
ADDRESS = {
    "label": "home",
    "street": "12 St James's Square",
    "city": "London",
    "region": "Greater London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}
CUSTOM_FIELDS = {
    "nickname": {"type": "string", "value": "Ada", "personal": True},
    "shoe_size": {"type": "number", "value": "38.5", "personal": False},
    "newsletter": {"type": "boolean", "value": True, "personal": False},
    "first_met": {"type": "date", "value": "2020-02-29", "personal": False},
}
CONTACT = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "emails": [EMAIL],
    "phones": [PHONE],
    "addresses": [ADDRESS],
    "birthday": "1815-12-10",
    "job_title": "Analyst",
    "source": "web form",
    "tags": ["vip"],
    "custom_fields": CUSTOM_FIELDS,
    "account_id": "0b7e0f43-5b1c-4d0a-9a57-3c1f3f1d2e5a",
}
ACCOUNT = {
    "name": "Analytical Engines Ltd",
    "domain": "engines.example.com",
    "industry": "Computing",
    "size": "11-50",
    "address": ADDRESS,
    "parent_account_id": "7f9d7d36-8a8b-4e8e-9b53-2d6a1c6b2f10",
}
SCOPE = {"owner": "alice", "department": "sales"}
INSTANT = "2026-03-01T09:30:00+01:00"

# A body setting every field of each request model.
FULL_BODIES: dict[type[BaseModel], dict[str, Any]] = {
    RegisterContact: {**CONTACT, **SCOPE},
    UpdateContact: CONTACT,
    CreateAccount: {**ACCOUNT, **SCOPE},
    UpdateAccount: ACCOUNT,
    Archive: {"reason": "left the company"},
    Reassign: SCOPE,
    LogInteraction: {
        "channel": "phone",
        "direction": "inbound",
        "subject": "Engines",
        "notes": "Talked about the analytical engine.",
        "occurred_at": INSTANT,
        "by": "alice",
    },
    SetConsent: {"status": "granted", "source": "web form", "at": INSTANT},
}
NESTED_BODIES: dict[type[BaseModel], dict[str, Any]] = {
    Email: EMAIL,
    Phone: PHONE,
    PostalAddress: ADDRESS,
    StringField: CUSTOM_FIELDS["nickname"],
    NumberField: CUSTOM_FIELDS["shoe_size"],
    BooleanField: CUSTOM_FIELDS["newsletter"],
    DateField: CUSTOM_FIELDS["first_met"],
}


def _text_leaves(value: Any, path: Path = ()) -> Iterator[Path]:
    """Where a body holds text: every string, and every key of a map (custom fields)."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if path and path[-1] == "custom_fields":
                yield (*path, key, "[key]")
            yield from _text_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _text_leaves(item, (*path, index))


def _poisoned(body: Any, leaf: Path, poison: str) -> Any:
    """The body with ``poison`` inside the text at ``leaf``."""
    if leaf[-1] == "[key]":
        *parents, key, _ = leaf
        target = _at(body := _copy(body), tuple(parents))
        target[f"{key[:1]}{poison}{key[1:]}"] = target.pop(key)
        return body
    *parents, last = leaf
    target = _at(body := _copy(body), tuple(parents))
    text = target[last]
    target[last] = f"{text[:1]}{poison}{text[1:]}"
    return body


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _at(body: Any, path: Path) -> Any:
    for part in path:
        body = body[part]
    return body


def _refusals(model: type[BaseModel], body: Any) -> dict[Path, str]:
    """Where (the error's location, as the API names the field) and why a body is refused."""
    try:
        model.model_validate(body)
    except ValidationError as error:
        return {tuple(e["loc"]): e["type"] for e in error.errors()}
    return {}


def _custom_field_location(leaf: Path) -> Path:
    """Pydantic names the custom field kind in the location (``...nickname.string.value``),
    and an unknown kind by the custom field itself."""
    if "custom_fields" not in leaf or leaf[-1] == "[key]":
        return leaf
    index = leaf.index("custom_fields")
    if leaf[index + 2 :] == ("type",):
        return leaf[: index + 2]
    name = leaf[index + 1]
    kind = CUSTOM_FIELDS[str(name)]["type"]
    return (*leaf[: index + 2], kind, *leaf[index + 2 :])


TEXT_LEAVES = [
    pytest.param(model, leaf, id=f"{model.__name__}:{'.'.join(map(str, leaf))}")
    for model, body in FULL_BODIES.items()
    for leaf in _text_leaves(body)
]


def test_the_specifications_cover_every_request_model_and_every_field() -> None:
    # The contacts API's own bodies, and those of the routes every CRM record has.
    defined = {
        cls
        for module in (schemas, record_schemas)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseModel) and cls.__module__ == module.__name__
    }
    requests = {cls for cls in defined if not any(issubclass(o, cls) for o in defined - {cls})}
    assert requests == set(FULL_BODIES)
    for model, body in {**FULL_BODIES, **NESTED_BODIES}.items():
        assert set(body) == set(model.model_fields), model.__name__


@pytest.mark.parametrize("model", FULL_BODIES)
def test_a_body_setting_every_field_is_accepted(model: type[BaseModel]) -> None:
    assert _refusals(model, FULL_BODIES[model]) == {}


@pytest.mark.parametrize(("model", "leaf"), TEXT_LEAVES)
def test_a_nul_in_any_text_is_refused_naming_the_field(model: type[BaseModel], leaf: Path) -> None:
    refusals = _refusals(model, _poisoned(FULL_BODIES[model], leaf, "\x00"))
    assert _located(refusals, leaf), refusals


@pytest.mark.parametrize(("model", "leaf"), TEXT_LEAVES)
def test_a_lone_surrogate_in_any_text_is_refused_naming_the_field(
    model: type[BaseModel], leaf: Path
) -> None:
    refusals = _refusals(model, _poisoned(FULL_BODIES[model], leaf, "\ud800"))
    assert _located(refusals, leaf), refusals


def _located(refusals: dict[Path, str], leaf: Path) -> bool:
    """Refused at the leaf (a key is named by the key as sent, so match its parent)."""
    if leaf[-1] == "[key]":
        return any(loc[: len(leaf) - 2] == leaf[:-2] and loc[-1] == "[key]" for loc in refusals)
    return _custom_field_location(leaf) in refusals


def test_text_that_only_looks_odd_is_accepted() -> None:
    body = {
        "first_name": "Zoë \u200d\U0001f9d1\u200d\U0001f4bb",
        "last_name": "\u0627\u0644\u062e\u0648\u0627\u0631\u0632\u0645\u064a",
        "job_title": "\x01\x1f\x7f\ufeff\uffff tab\tand newline\n",
        "tags": ["\U0010fffd"],
        "department": "sales",
    }
    assert _refusals(RegisterContact, body) == {}


def _interaction(occurred_at: str) -> dict[str, str]:
    return {"channel": "email", "direction": "outbound", "occurred_at": occurred_at}


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2026-03-01T09:30:00+16:00",
        "2026-03-01T09:30:00-16:00",
        "2026-03-01T09:30:00+23:59",
        "2026-03-01T09:30:00-20:00",
    ],
)
def test_an_offset_postgresql_cannot_hold_is_refused(occurred_at: str) -> None:
    assert _refusals(LogInteraction, _interaction(occurred_at)) == {
        ("occurred_at",): "timezone_offset_out_of_range"
    }


@pytest.mark.parametrize(
    "occurred_at",
    [
        "0001-01-01T00:00:00+00:01",  # the year 0 in UTC
        "0001-01-01T15:00:00+15:59",
        "9999-12-31T23:59:59-00:01",  # the year 10000 in UTC
        "9999-12-31T12:00:00-15:00",
    ],
)
def test_an_instant_outside_the_years_1_to_9999_in_utc_is_refused(occurred_at: str) -> None:
    assert _refusals(LogInteraction, _interaction(occurred_at)) == {
        ("occurred_at",): "datetime_out_of_range"
    }


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2026-03-01T09:30:00+15:59",
        "2026-03-01T09:30:00-15:59",
        "2026-03-01T09:30:00+05:45",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00-15:59",
        "9999-12-31T23:59:59.999999Z",
        "9999-12-31T08:00:00+15:59",
    ],
)
def test_instants_up_to_the_limits_are_accepted(occurred_at: str) -> None:
    assert _refusals(LogInteraction, _interaction(occurred_at)) == {}


def test_a_consent_given_at_an_impossible_instant_is_refused() -> None:
    body = {"status": "granted", "at": "2026-03-01T09:30:00+20:00"}
    assert _refusals(SetConsent, body) == {("at",): "timezone_offset_out_of_range"}


def _number(value: str) -> dict[str, Any]:
    return {"custom_fields": {"n": {"type": "number", "value": value}}}


@pytest.mark.parametrize("value", ["1E+131072", "-4.2E+200000", "1E-16384", "0.5E-16383"])
def test_a_number_postgresql_numeric_cannot_hold_is_refused(value: str) -> None:
    assert _refusals(UpdateContact, _number(value)) == {
        ("custom_fields", "n", "number", "value"): "number_out_of_range"
    }


@pytest.mark.parametrize("value", ["9.99E+131071", "-1E+131071", "1E-16383", "0", "-0.0"])
def test_numbers_up_to_the_limits_of_postgresql_numeric_are_accepted(value: str) -> None:
    assert _refusals(UpdateContact, _number(value)) == {}


def test_an_event_recorded_before_the_rules_stays_readable() -> None:
    """The event store reads recorded events with the RECORDED context: a NUL or a huge
    number in a shared value type, accepted before the edge refused them, still decodes."""
    data = {
        "department": "sales",
        "addresses": [{"street": "12\x00 St James's Square"}],
        "custom_fields": {"n": {"type": "number", "value": "1E+999999"}},
    }
    with pytest.raises(ValidationError):
        ContactRegistered.model_validate(data)
    event = ContactRegistered.model_validate(data, context=RECORDED)
    assert event.addresses[0].street == "12\x00 St James's Square"
