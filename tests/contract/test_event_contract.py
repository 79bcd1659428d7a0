"""The published event contract: what outside subscribers rely on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event
from jsonschema import Draft202012Validator

from crm_shared.catalog import CATALOG
from crm_shared.contract import (
    EXAMPLE_SUBJECT,
    event_json_schema,
    published_example,
    rendered_documents,
)
from crm_shared.events import DomainEvent, EventMetadata
from crm_shared.events.catalog import Catalog, EventData, event_type
from crm_shared.events.received import ReceivedEvent
from crm_shared.eventstore.mapper import CatalogMapper
from crm_shared.master_key import MasterKey
from crm_shared.messaging.cloudevents import KafkaRecord, encode
from crm_shared.messaging.decoding import EventDecoder
from crm_shared.privacy.cipher import ERASED, UnreadableValue, is_sealed, reveal
from crm_shared.privacy.keyring import DataKeyring
from tests.integration.kafka_tools import consumed
from tests.unit.test_decoding import KnownKeys

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"
TYPES = sorted(CATALOG.by_type)
AGGREGATE_ID = UUID(EXAMPLE_SUBJECT)


def keyring_with_keys_for(subjects: set[UUID]) -> DataKeyring:
    keyring = DataKeyring("contacts", "contacts", MasterKey(os.urandom(32)))
    new_keys, _ = keyring.prepare_sync(subjects)
    keyring.stored(new_keys, [])
    return keyring


def examples_data_subjects() -> set[UUID]:
    """Whose keys the examples are sealed with: the aggregate's, or a person an event
    names (an activity about a contact is sealed with the contact's key)."""
    return {
        model.model_validate(model.example).data_subject(AGGREGATE_ID)
        for model in CATALOG.by_type.values()
        if model.example is not None
    }


DATA_SUBJECTS = {AGGREGATE_ID} | examples_data_subjects()
KEYRING = keyring_with_keys_for(DATA_SUBJECTS)
MAPPER = CatalogMapper(KEYRING)
KEYS = KEYRING.lookup({("contacts", subject) for subject in DATA_SUBJECTS})
REGISTERED = CATALOG.model("crm.contacts.contact.registered.v1").personal_fields()


def opened(type_name: str, data: dict[str, Any], keys: Any = KEYS, **kwargs: Any) -> dict[str, Any]:
    return reveal(data, CATALOG.model(type_name).personal_fields(), keys, **kwargs)


def example(type_name: str) -> dict[str, Any]:
    """The example the event type declares (each one in the catalog must)."""
    declared = CATALOG.model(type_name).example
    assert declared is not None, f"{type_name} declares no example"
    return declared


@pytest.mark.parametrize("type_name", TYPES)
def test_every_event_type_declares_an_example_that_its_model_accepts(type_name: str) -> None:
    model = CATALOG.model(type_name)
    assert model.example is not None, f"{type_name}: give it an `example` (its data, as JSON)"
    model.model_validate(model.example)


def test_the_catalog_refuses_an_event_type_whose_example_its_model_does_not_accept() -> None:
    with pytest.raises(ValueError, match=r"crm\.test\.lead\.captured\.v1: its example"):

        @event_type("test", "lead", "captured", catalog=Catalog())
        class LeadCaptured(EventData):
            source: str
            example = {"origin": "web"}


@pytest.mark.parametrize("type_name", TYPES)
def test_every_example_is_published_as_subscribers_get_it_in_schema_and_asyncapi(
    type_name: str,
) -> None:
    model = CATALOG.model(type_name)
    schema = event_json_schema(model)
    published = published_example(model)
    assert schema["examples"] == [published]
    Draft202012Validator(schema).validate(published)
    asyncapi = orjson.loads(rendered_documents()["asyncapi.json"])
    assert asyncapi["components"]["schemas"][model.__name__]["examples"] == [published]


def test_event_types_are_named_by_service_aggregate_event_and_version() -> None:
    for type_name, cls in CATALOG.by_type.items():
        parts = type_name.split(".")
        assert len(parts) == 5 and parts[0] == "crm", type_name
        assert parts[1] == cls.service and parts[2] == cls.aggregate
        assert parts[4] == f"v{cls.version}"


def stored(type_name: str) -> tuple[DomainEvent, bytes]:
    data = CATALOG.model(type_name).model_validate(example(type_name))
    event = DomainEvent(
        originator_id=AGGREGATE_ID,
        originator_version=3,
        data=data,
        metadata=EventMetadata(actor="user:alice", correlation_id="corr-1", causation_id="cause-1"),
    )
    return event, MAPPER.to_stored_event(event).state


def published(type_name: str) -> tuple[DomainEvent, KafkaRecord]:
    """The example event as stored, and as the relay puts it on the topic."""
    event, state = stored(type_name)
    record = encode(
        source="/crm/contacts",
        type_name=type_name,
        aggregate_id=AGGREGATE_ID,
        version=3,
        state=state,
    )
    return event, record


@pytest.mark.parametrize("type_name", TYPES)
def test_every_event_round_trips_through_the_cloudevents_sdk(type_name: str) -> None:
    event, record = published(type_name)
    parsed = from_binary_event(
        KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    )
    assert parsed.get_specversion() == "1.0"
    assert parsed.get_id() == str(event.id)
    assert parsed.get_type() == type_name
    assert parsed.get_source() == "/crm/contacts"
    assert parsed.get_subject() == str(AGGREGATE_ID)
    assert parsed.get_time() == event.timestamp
    assert parsed.get_datacontenttype() == "application/json"
    assert parsed.get_extension("sequence") == "3"
    assert parsed.get_extension("actor") == "user:alice"
    assert parsed.get_extension("correlationid") == "corr-1"
    assert parsed.get_extension("causationid") == "cause-1"
    assert parsed.get_extension("partitionkey") == str(AGGREGATE_ID)
    assert opened(type_name, parsed.get_data()) == event.data.model_dump(mode="json")


@pytest.mark.parametrize("type_name", TYPES)
def test_every_event_validates_against_its_json_schema(type_name: str) -> None:
    _, record = published(type_name)
    schema = event_json_schema(CATALOG.model(type_name))
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(orjson.loads(record.value))


@pytest.mark.parametrize("type_name", TYPES)
def test_the_stored_event_reads_back_as_the_same_event(type_name: str) -> None:
    event, state = stored(type_name)
    from eventsourcing.persistence import StoredEvent

    back = MAPPER.to_domain_event(StoredEvent(AGGREGATE_ID, 3, type_name, state))
    assert back == event


@pytest.mark.parametrize("type_name", TYPES)
async def test_our_consumer_decodes_every_event_we_publish_into_the_same_event(
    type_name: str,
) -> None:
    event, record = published(type_name)
    model = CATALOG.model(type_name)
    decoder = EventDecoder(CATALOG, [model], KnownKeys(dict(KEYS)))
    decoded = await decoder.decode([consumed(record, offset=7)])
    (received,) = decoded.events
    assert isinstance(received, ReceivedEvent) and received.data == event.data
    assert (received.event_id, received.aggregate_id, received.version, received.time) == (
        event.id,
        AGGREGATE_ID,
        3,
        event.timestamp,
    )
    assert (received.actor, received.correlation_id) == ("user:alice", "corr-1")


def test_personal_fields_are_sealed_in_the_store_and_on_the_topic() -> None:
    _, record = published("crm.contacts.contact.registered.v1")
    data = orjson.loads(record.value)
    for field in ("first_name", "last_name", "emails", "phones", "addresses", "birthday"):
        assert is_sealed(data[field]), field
    assert is_sealed(data["custom_fields"]["shoe_size"]["value"])
    assert (data["job_title"], data["department"]) == ("Analyst", "sales")
    for clear_text in (b"Ada", b"Lovelace", b"ada@example.com", b"442079460958", b"1815"):
        assert clear_text not in record.value


def test_a_consumer_without_the_key_sees_sealed_placeholders_and_an_erased_person_null() -> None:
    _, record = published("crm.contacts.contact.registered.v1")
    data = orjson.loads(record.value)
    without_key = reveal(data, REGISTERED, {})
    assert is_sealed(without_key["emails"]) and without_key["job_title"] == "Analyst"
    erased = reveal(data, REGISTERED, {("contacts", AGGREGATE_ID): ERASED}, erased=None)
    assert erased["emails"] is None and erased["first_name"] is None
    assert "shoe_size" not in erased["custom_fields"]


def test_a_sealed_value_does_not_open_under_another_persons_id() -> None:
    _, record = published("crm.contacts.contact.registered.v1")
    sealed = orjson.loads(record.value)["first_name"]
    other = uuid4()
    relabelled = sealed.replace(str(AGGREGATE_ID), str(other))
    with pytest.raises(UnreadableValue):
        reveal(
            {"first_name": relabelled},
            REGISTERED,
            {("contacts", other): KEYS[("contacts", AGGREGATE_ID)]},
        )


def test_a_change_event_carries_only_the_changed_fields_and_null_for_cleared_ones() -> None:
    _, state = stored("crm.contacts.contact.updated.v1")
    data = orjson.loads(state)["data"]
    assert opened("crm.contacts.contact.updated.v1", data) == {
        "last_name": "Byron",
        "job_title": None,
    }


def test_personal_fields_are_marked_in_the_schemas() -> None:
    schema = event_json_schema(CATALOG.model("crm.contacts.contact.registered.v1"))
    for field in ("first_name", "last_name", "emails", "phones", "addresses", "birthday"):
        assert schema["properties"][field]["x-personal"] is True, field
        assert "x-sealed-schema" in schema["properties"][field], field
    assert "x-personal" not in schema["properties"]["department"]
    interaction = event_json_schema(CATALOG.model("crm.contacts.contact.interaction_logged.v1"))
    assert interaction["properties"]["notes"]["x-personal"] is True


def test_an_unknown_event_type_is_refused_by_the_mapper() -> None:
    from eventsourcing.persistence import StoredEvent

    with pytest.raises(LookupError):
        MAPPER.to_domain_event(
            StoredEvent(uuid4(), 1, "crm.contacts.contact.teleported.v1", b'{"data":{}}')
        )


def test_an_old_version_is_upcast_to_the_current_model() -> None:
    from crm_shared.events.catalog import Catalog

    catalog = Catalog(by_type=dict(CATALOG.by_type))
    catalog.register_upcaster(
        "crm.contacts.contact.archived.v0",
        "crm.contacts.contact.archived.v1",
        lambda data: {"reason": data.pop("why", None)},
    )
    model, data = catalog.resolve("crm.contacts.contact.archived.v0", {"why": "duplicate"})
    assert model.model_validate(data).model_dump() == {"reason": "duplicate"}


def test_the_committed_asyncapi_and_json_schemas_are_up_to_date() -> None:
    rendered = rendered_documents()
    committed = {str(p.relative_to(DOCS)): p.read_bytes() for p in DOCS.rglob("*.json")}
    assert sorted(committed) == sorted(rendered), "run `make docs` and commit docs/events"
    for path, content in rendered.items():
        assert committed[path] == content, f"{path} is stale: run `make docs`"


def test_the_asyncapi_document_describes_every_event_with_headers_and_key() -> None:
    document = orjson.loads(rendered_documents()["asyncapi.json"])
    assert document["asyncapi"] == "3.0.0"
    channels = document["channels"]
    assert sorted(channels) == TYPES
    for type_name, channel in channels.items():
        # crm.<service>.<aggregate>.<event>.v<N> goes to its service's topic.
        assert channel["address"] == f"crm.{type_name.split('.')[1]}.events"
        assert channel["bindings"]["kafka"]["partitions"] == 4
    for message in document["components"]["messages"].values():
        assert "ce_id" in message["headers"]["required"]
        assert message["bindings"]["kafka"]["key"]["format"] == "uuid"


def test_a_registration_without_personal_data_is_published_as_is_and_validates() -> None:
    model = CATALOG.model("crm.contacts.contact.registered.v1")
    event = DomainEvent(originator_id=uuid4(), originator_version=1, data=model(department="sales"))
    record = encode(
        source="/crm/contacts",
        type_name=model.type_name,
        aggregate_id=event.originator_id,
        version=1,
        state=MAPPER.to_stored_event(event).state,
    )
    data = orjson.loads(record.value)
    assert (data["emails"], data["first_name"]) == ([], None), "nothing to seal, no key needed"
    Draft202012Validator(event_json_schema(model)).validate(data)
