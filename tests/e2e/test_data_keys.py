"""The key endpoint: how outside systems with ``pii:read`` open personal fields, audited."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import orjson
import psycopg
import pytest
from aiokafka import AIOKafkaProducer

from crm_shared.auth.api_keys import ApiKeyAdmin
from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.catalog import CATALOG
from crm_shared.catalog.contacts import ContactRegistered
from crm_shared.events import ReceivedEvent
from crm_shared.messaging.cloudevents import KafkaRecord, encode
from crm_shared.messaging.decoding import EventDecoder
from crm_shared.privacy.cipher import is_sealed, open_value
from crm_shared.privacy.key_client import (
    DataKeyClient,
    KeyServiceUnavailable,
    Opened,
    SealedData,
)
from tests.conftest import free_port
from tests.e2e.conftest import Stack, eventually, register_contact
from tests.e2e.test_erasure import TOPIC, a_person, customer
from tests.integration.kafka_tools import consumed, read_all

LOOKUP = "/v1/data-keys/lookup"


def pii_reader(stack: Stack) -> tuple[str, dict[str, str]]:
    assert stack.settings.database_url is not None
    name = f"warehouse-{uuid.uuid4().hex[:6]}"
    _, key = ApiKeyAdmin(stack.settings.database_url).create(
        name, Role.MARKETER, ["marketing"], ["pii:read"]
    )
    return name, {"X-API-Key": key}


# The stack's customer 360 fetches every new person's key too, whenever its consumer gets
# to them: its rows are not the test's.
OWN_CONSUMER = "user:service:projections"


def audit_rows(stack: Stack, data_subject: str) -> list[tuple[str, str | None]]:
    """Who fetched the person's key, oldest first, but for the stack's own 360."""
    assert stack.settings.database_url is not None
    with psycopg.connect(stack.settings.database_url) as conn:
        return conn.execute(
            "SELECT actor, correlation_id FROM contacts.data_key_access"
            " WHERE %s::uuid = ANY(data_subjects) AND actor <> %s ORDER BY id",
            (data_subject, OWN_CONSUMER),
        ).fetchall()


def stored_registration(stack: Stack, contact_id: str) -> bytes:
    """The contact's registration as it sits in the event store."""
    assert stack.settings.database_url is not None
    with psycopg.connect(stack.settings.database_url) as conn:
        row = conn.execute(
            "SELECT state FROM contacts.contacts_events"
            " WHERE originator_id = %s AND originator_version = 1",
            (contact_id,),
        ).fetchone()
    assert row is not None
    return bytes(row[0])


def sealed_registration(stack: Stack, contact_id: str) -> dict[str, Any]:
    """The registration's data as it sits in the event store and on the topic."""
    data: dict[str, Any] = orjson.loads(stored_registration(stack, contact_id))["data"]
    return data


def stored_record(stack: Stack, contact_id: str) -> KafkaRecord:
    """The registration as the relay publishes it."""
    return encode(
        source="/crm/contacts",
        type_name=ContactRegistered.type_name,
        aggregate_id=contact_id,
        version=1,
        state=stored_registration(stack, contact_id),
    )


async def test_a_system_with_pii_read_opens_a_persons_fields_and_the_fetch_is_audited(
    stack: Stack,
) -> None:
    person = a_person()
    contact = await register_contact(stack, **person)
    name, headers = pii_reader(stack)
    response = await stack.contacts.post(
        LOOKUP,
        json={"data_subjects": [contact["id"]]},
        headers=headers | {"X-Correlation-ID": "audit-me"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["algorithm"] == "AES-256-GCM" and body["cache_seconds"] > 0
    [entry] = body["keys"]
    assert (entry["data_subject"], entry["status"]) == (contact["id"], "active")
    key = base64.b64decode(entry["key"])
    sealed = sealed_registration(stack, contact["id"])
    assert is_sealed(sealed["emails"])
    assert open_value(sealed["emails"], key)[0]["address"] == person["emails"][0]["address"]
    assert audit_rows(stack, contact["id"]) == [(f"api_key:{name}", "audit-me")]

    one = await stack.contacts.get(f"/v1/data-keys/{contact['id']}", headers=headers)
    assert one.json()["keys"] == body["keys"]
    assert len(audit_rows(stack, contact["id"])) == 2


async def test_keys_are_refused_without_pii_read_and_nothing_is_handed_out(stack: Stack) -> None:
    contact = await register_contact(stack, **a_person())
    for headers in (stack.auth(Role.ADMIN), {}):
        for response in (
            await stack.contacts.post(
                LOOKUP, json={"data_subjects": [contact["id"]]}, headers=headers
            ),
            await stack.contacts.get(f"/v1/data-keys/{contact['id']}", headers=headers),
        ):
            assert response.status_code in (401, 403), response.text
            assert "key" not in response.json()
    assert audit_rows(stack, contact["id"]) == []


async def test_an_erased_person_has_no_key_and_an_unknown_id_is_unknown(stack: Stack) -> None:
    contact = await register_contact(stack, **a_person())
    await stack.contacts.post(f"/v1/contacts/{contact['id']}/erase", headers=stack.auth())
    unknown = str(uuid.uuid4())
    _, headers = pii_reader(stack)
    response = await stack.contacts.post(
        LOOKUP, json={"data_subjects": [contact["id"], unknown, contact["id"]]}, headers=headers
    )
    assert response.json()["keys"] == [
        {"data_subject": contact["id"], "status": "erased", "key": None},
        {"data_subject": unknown, "status": "unknown", "key": None},
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"data_subjects": []},
        {"data_subjects": ["not-a-uuid"]},
        {"data_subjects": [], "extra": 1},
        {},
    ],
)
async def test_a_bad_lookup_is_422_naming_the_field(stack: Stack, body: dict[str, Any]) -> None:
    _, headers = pii_reader(stack)
    response = await stack.contacts.post(LOOKUP, json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("body")


async def test_at_most_a_thousand_people_per_lookup(stack: Stack) -> None:
    _, headers = pii_reader(stack)
    data_subjects = [str(uuid.uuid4()) for _ in range(1001)]
    response = await stack.contacts.post(
        LOOKUP, json={"data_subjects": data_subjects}, headers=headers
    )
    assert response.status_code == 422


def registration(data: dict[str, Any]) -> SealedData:
    return SealedData(data, ContactRegistered.personal_fields())


def no_access(stack: Stack) -> DataKeyClient:
    token = issue_token(stack.settings, principal_id="nosy", role=Role.ADMIN, departments=["sales"])
    return DataKeyClient(stack.settings.url_of, lambda: {"Authorization": f"Bearer {token}"})


async def test_a_consumer_without_access_sees_sealed_placeholders_not_errors(stack: Stack) -> None:
    contact = await register_contact(stack, **a_person())
    client = no_access(stack)
    try:
        [opened] = await client.reveal([registration(sealed_registration(stack, contact["id"]))])
    finally:
        await client.close()
    assert isinstance(opened, Opened) and not opened.complete
    assert is_sealed(opened.data["emails"]) and is_sealed(opened.data["first_name"])
    assert opened.data["department"] == "sales"


async def test_a_typed_event_without_access_reads_its_personal_fields_as_empty(
    stack: Stack,
) -> None:
    contact = await register_contact(stack, **a_person())
    record = consumed(stored_record(stack, contact["id"]))
    client = no_access(stack)
    try:
        decoded = await EventDecoder(CATALOG, [ContactRegistered], client).decode([record])
    finally:
        await client.close()
    (event,) = decoded.events
    assert isinstance(event, ReceivedEvent) and isinstance(event.data, ContactRegistered)
    assert (event.data.first_name, event.data.emails, event.data.department) == (None, [], "sales")
    assert is_sealed(event.sealed["emails"]) and is_sealed(event.sealed["first_name"])


async def test_a_consumer_with_access_opens_them_and_an_unreachable_owner_fails_the_batch(
    stack: Stack,
) -> None:
    person = a_person()
    contact = await register_contact(stack, **person)
    client = DataKeyClient.for_consumer(stack.settings, "tests")
    try:
        [opened] = await client.reveal([registration(sealed_registration(stack, contact["id"]))])
    finally:
        await client.close()
    assert isinstance(opened, Opened) and opened.complete
    assert opened.data["emails"][0]["address"] == person["emails"][0]["address"]

    nowhere = DataKeyClient(lambda _: f"http://127.0.0.1:{free_port()}", dict)
    try:
        with pytest.raises(KeyServiceUnavailable):
            await nowhere.reveal([registration(sealed_registration(stack, contact["id"]))])
    finally:
        await nowhere.close()


async def test_a_tampered_sealed_value_sends_its_record_to_the_dead_letter_topic(
    stack: Stack,
) -> None:
    assert stack.settings.kafka_bootstrap_servers is not None
    contact = await register_contact(stack, **a_person())
    data = sealed_registration(stack, contact["id"])
    head, blob = data["last_name"].rsplit(":", 1)
    data["last_name"] = f"{head}:{'B' if blob[0] == 'A' else 'A'}{blob[1:]}"
    event_id = str(uuid.uuid4())
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", event_id.encode()),
        ("ce_source", b"/crm/contacts"),
        ("ce_type", b"crm.contacts.contact.registered.v1"),
        ("ce_subject", contact["id"].encode()),
        ("ce_time", b"2026-11-23T10:00:00+00:00"),
        ("ce_sequence", b"1"),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            TOPIC, orjson.dumps(data), key=contact["id"].encode(), headers=headers
        )
    finally:
        await producer.stop()

    async def dead_lettered() -> bool:
        records = await read_all(stack.settings.kafka_bootstrap_servers or "", f"{TOPIC}.dlq")
        return any(dict(r.headers).get("ce_id") == event_id.encode() for r in records)

    await eventually(dead_lettered)
    later = await register_contact(stack, **a_person())
    assert await eventually(lambda: customer(stack, later["id"])), "the 360 carries on"
