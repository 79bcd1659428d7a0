"""How a consumer turns records into typed events (no broker: records built in memory)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
import pytest
from aiokafka import ConsumerRecord
from pydantic import ValidationError

from crm_shared.catalog import CATALOG
from crm_shared.catalog.contacts import (
    AccountCreated,
    ContactRegistered,
    ContactUpdated,
)
from crm_shared.events import Catalog, Envelope, EventData, ReceivedEvent, event_type, personal
from crm_shared.messaging.cloudevents import UndecodableRecord, encode
from crm_shared.messaging.decoding import (
    Decoded,
    EventDecoder,
    SupersededEventType,
    UnknownEventType,
)
from crm_shared.messaging.failures import describe
from crm_shared.privacy.cipher import ERASED, Erased, UnreadableValue, new_data_key, seal
from crm_shared.privacy.key_client import DataKeyClient
from crm_shared.values import Email, StringField
from tests.integration.kafka_tools import consumed

CONTACT = uuid.UUID("0b6e3c56-1f43-4f7e-9c3e-5d0c8c4b2a11")
KEY = new_data_key()
ADA = ContactRegistered(
    first_name="Ada",
    emails=[Email(address="ada@example.com")],
    custom_fields={
        "nickname": StringField(value="Countess", personal=True),
        "shoe_size": StringField(value="38"),
    },
    job_title="Analyst",
    department="sales",
)


def record(
    data: EventData | dict[str, Any],
    *,
    type_name: str | None = None,
    aggregate_id: UUID = CONTACT,
    version: int = 1,
    sealed: bool = True,
) -> ConsumerRecord[bytes, bytes]:
    """A record as the relay publishes it: personal values sealed with the person's key."""
    if isinstance(data, EventData):
        type_name = type_name or data.type_name
        json = data.model_dump(mode="json")
        if sealed:
            json = seal(
                json, data.personal_fields(), key=KEY, service="contacts", data_subject=aggregate_id
            )
    else:
        json = data
    assert type_name is not None
    state = {"id": str(uuid.uuid4()), "time": "2026-11-23T10:00:00+00:00", "data": json}
    state |= {"actor": "user:ada", "correlation_id": "c-1"}
    return consumed(
        encode(
            source="/crm/contacts",
            type_name=type_name,
            aggregate_id=aggregate_id,
            version=version,
            state=orjson.dumps(state),
        ),
        offset=version - 1,
    )


class KnownKeys(DataKeyClient):
    """The key endpoint's answers, without the endpoint."""

    def __init__(self, keys: dict[tuple[str, UUID], bytes | Erased]) -> None:
        super().__init__(lambda service: f"http://{service}.invalid", dict)
        self.known = keys
        self.asked: list[set[tuple[str, UUID]]] = []

    async def keys_for(
        self, wanted: Iterable[tuple[str, UUID]]
    ) -> dict[tuple[str, UUID], bytes | Erased]:
        self.asked.append(set(wanted))
        return {s: self.known[s] for s in wanted if s in self.known}


CONTACT_TYPES = (ContactRegistered, ContactUpdated)


async def decode(
    *records: ConsumerRecord[bytes, bytes],
    keys: DataKeyClient | None = None,
    handles: tuple[type[EventData], ...] = CONTACT_TYPES,
    catalog: Catalog = CATALOG,
) -> Decoded:
    return await EventDecoder(catalog, handles, keys).decode(list(records))


async def only_event(*records: ConsumerRecord[bytes, bytes], **kwargs: Any) -> ReceivedEvent[Any]:
    decoded = await decode(*records, **kwargs)
    assert decoded.poison == []
    (event,) = decoded.events
    assert isinstance(event, ReceivedEvent)
    return event


async def test_a_record_becomes_the_catalogs_model_in_its_envelope() -> None:
    event = await only_event(record(ADA), keys=KnownKeys({("contacts", CONTACT): KEY}))
    assert event.data == ADA
    assert (event.aggregate_id, event.version, event.recorded_type) == (
        CONTACT,
        1,
        "crm.contacts.contact.registered.v1",
    )
    assert event.time == datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert (event.actor, event.correlation_id) == ("user:ada", "c-1")
    assert (event.topic, event.partition, event.offset) == ("crm.contacts.events", 0, 0)
    assert event.sealed == {}


async def test_a_batch_asks_for_the_keys_of_all_its_people_at_once() -> None:
    other = uuid.uuid4()
    keys = KnownKeys({("contacts", CONTACT): KEY, ("contacts", other): KEY})
    decoded = await decode(record(ADA), record(ADA, aggregate_id=other), keys=keys)
    assert len(decoded.events) == 2
    assert keys.asked == [{("contacts", CONTACT), ("contacts", other)}]


async def test_without_a_key_personal_values_read_as_empty_and_the_sealed_strings_are_beside() -> (
    None
):
    event = await only_event(record(ADA), keys=KnownKeys({}))
    registered = event.data
    assert (registered.first_name, registered.emails, registered.job_title) == (None, [], "Analyst")
    assert registered.custom_fields == {"shoe_size": StringField(value="38")}
    assert set(event.sealed) == {"first_name", "emails", "custom_fields.nickname"}
    assert all(value.startswith(f"pii:v1:contacts:{CONTACT}:") for value in event.sealed.values())


async def test_a_consumer_without_keys_reads_them_as_empty_too() -> None:
    event = await only_event(record(ADA))
    assert (event.data.first_name, event.data.emails) == (None, [])
    assert set(event.sealed) == {"first_name", "emails", "custom_fields.nickname"}


async def test_an_erased_persons_values_read_as_empty_and_are_not_kept() -> None:
    event = await only_event(record(ADA), keys=KnownKeys({("contacts", CONTACT): ERASED}))
    assert (event.data.first_name, event.data.emails, event.sealed) == (None, [], {})
    assert "nickname" not in event.data.custom_fields


async def test_an_erased_value_of_a_change_still_says_the_field_changed() -> None:
    change = ContactUpdated(emails=[Email(address="new@example.com")])
    event = await only_event(record(change), keys=KnownKeys({("contacts", CONTACT): ERASED}))
    assert event.data.emails is None
    assert event.data.model_fields_set == {"emails"}


async def test_a_value_that_does_not_open_with_its_key_is_poison() -> None:
    data = orjson.loads(record(ADA).value)
    head, blob = data["first_name"].rsplit(":", 1)
    data["first_name"] = f"{head}:{'B' if blob[0] == 'A' else 'A'}{blob[1:]}"
    decoded = await decode(
        record(data, type_name=ADA.type_name), keys=KnownKeys({("contacts", CONTACT): KEY})
    )
    ((_, error),) = decoded.poison
    assert isinstance(error, UnreadableValue) and decoded.events == []


async def test_a_type_the_catalog_does_not_know_is_poison_named_by_its_type() -> None:
    decoded = await decode(record({}, type_name="crm.contacts.contact.teleported.v1"))
    ((_, error),) = decoded.poison
    assert isinstance(error, UnknownEventType)
    assert describe(error) == (
        "UnknownEventType: unknown event type 'crm.contacts.contact.teleported.v1'"
    )


async def test_data_that_does_not_validate_is_poison_described_without_its_values() -> None:
    bad = {"department": "sales", "birthday": "the day Ada was born"}
    decoded = await decode(record(bad, type_name=ADA.type_name))
    ((_, error),) = decoded.poison
    assert isinstance(error, ValidationError)
    assert describe(error) == "ValidationError: birthday: date_from_datetime_parsing"


async def test_a_record_that_is_not_one_of_our_cloudevents_is_poison_naming_the_attribute() -> None:
    broken = record(ADA)
    broken.headers = [(k, b"13/13/2026" if k == "ce_time" else v) for k, v in broken.headers]
    decoded = await decode(broken)
    ((_, error),) = decoded.poison
    assert isinstance(error, UndecodableRecord)
    assert describe(error) == (
        "UndecodableRecord: not a CRM CloudEvent: ce_time is malformed (ValueError)"
    )


async def test_a_type_the_projection_does_not_handle_stays_a_bare_envelope() -> None:
    account = AccountCreated(name="Globex", department="sales")
    decoded = await decode(record({"not": "even valid"}, type_name=account.type_name))
    (envelope,) = decoded.events
    assert type(envelope) is Envelope and decoded.poison == []
    assert (envelope.aggregate_id, envelope.version) == (CONTACT, 1)


async def test_an_old_version_is_read_as_the_current_one_through_its_upcaster() -> None:
    catalog = Catalog()

    @event_type("test", "lead", "captured", catalog=catalog)
    class LeadCapturedV1(EventData):
        name: str

    @event_type("test", "lead", "captured", version=2, catalog=catalog)
    class LeadCaptured(EventData):
        full_name: str
        source: str

    catalog.register_upcaster(
        LeadCapturedV1.type_name,
        LeadCaptured.type_name,
        lambda data: {"full_name": data["name"], "source": "unknown"},
    )
    old = record(LeadCapturedV1(name="Ada"))
    event = await only_event(old, handles=(LeadCaptured,), catalog=catalog)
    assert event.data == LeadCaptured(full_name="Ada", source="unknown")
    assert event.recorded_type == LeadCapturedV1.type_name


def test_a_projection_handling_a_superseded_version_is_refused() -> None:
    catalog = Catalog()

    @event_type("test", "lead", "lost", catalog=catalog)
    class LeadLostV1(EventData):
        reason: str

    @event_type("test", "lead", "lost", version=2, catalog=catalog)
    class LeadLost(EventData):
        reasons: list[str]

    catalog.register_upcaster(
        LeadLostV1.type_name, LeadLost.type_name, lambda data: {"reasons": [data["reason"]]}
    )
    with pytest.raises(SupersededEventType, match=r"crm\.test\.lead\.lost\.v1"):
        EventDecoder(catalog, (LeadLostV1,))


def test_a_personal_field_without_a_default_is_refused_by_the_catalog() -> None:
    with pytest.raises(ValueError, match="personal fields need a default"):

        @event_type("test", "lead", "named", catalog=Catalog())
        class LeadNamed(EventData):
            name: str = personal()
