"""The activities API of the sales service as a client uses it, over the real PostgreSQL
and the real broker: scheduling a task and an appointment, changing one under If-Match,
completing and reopening it, the refusals naming their field, the policy's departments,
and the activity's events on ``crm.sales.events`` with what it says about the person
sealed with that person's key."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
import psycopg
from aiokafka import ConsumerRecord
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

from crm_shared.auth.principal import Role
from crm_shared.catalog.sales.activities import ActivityScheduled
from crm_shared.privacy.cipher import is_sealed, sealed_data_subjects
from tests.e2e.conftest import Stack, eventually
from tests.e2e.sales_references import a_contact_sales_knows, an_account_sales_knows
from tests.integration.kafka_tools import read_all

PROBLEM = "application/problem+json"
TOPIC = "crm.sales.events"


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


def call(**fields: Any) -> dict[str, Any]:
    """A call, due on 3 December at 14:00 UTC, with 15 minutes' notice. About no record
    unless ``related_to`` says (a contact or an account must be one the sales service
    knows: ``tests.e2e.sales_references``)."""
    return {
        "kind": "task",
        "subject": "Call Ada about the renewal",
        "due_at": "2026-12-03T14:00:00Z",
        "reminders": [{"type": "before", "offset": "PT15M"}],
        **fields,
    }


async def schedule(stack: Stack, **fields: Any) -> dict[str, Any]:
    response = await sales(stack).post("/v1/activities", json=call(**fields), headers=stack.auth())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def published(
    stack: Stack, activity_id: str, versions: int
) -> list[ConsumerRecord[bytes, bytes]]:
    """The activity's records on the sales topic, once ``versions`` of them are there."""

    async def probe() -> list[ConsumerRecord[bytes, bytes]] | None:
        records = await read_all(stack.settings.kafka_bootstrap_servers or "", TOPIC)
        own = [r for r in records if r.key == activity_id.encode()]
        return own if len(own) >= versions else None

    return await eventually(probe)


async def test_scheduling_a_task_answers_201_with_its_reminder_instants(stack: Stack) -> None:
    response = await sales(stack).post(
        "/v1/activities", json=call(), headers=stack.auth(sub="alice")
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert response.headers["location"] == f"/v1/activities/{task['id']}"
    assert response.headers["etag"] == '"2"'  # scheduled, then its reminder placed
    assert (task["kind"], task["assignee"], task["owner"], task["done"]) == (
        "task",
        "alice",
        "alice",
        False,
    )
    assert task["scheduled_reminders"] == [
        {"reminder_id": f"{task['id']}@20261203T134500Z", "fires_at": "2026-12-03T13:45:00Z"}
    ]
    fetched = await sales(stack).get(response.headers["location"], headers=stack.auth())
    assert fetched.status_code == 200
    assert fetched.json() == task


async def test_scheduling_an_appointment_reminded_the_local_day_before(stack: Stack) -> None:
    appointment = await schedule(
        stack,
        kind="appointment",
        due_at=None,
        starts_at="2026-03-29T09:00:00+02:00",
        ends_at="2026-03-29T10:00:00+02:00",
        time_zone="Europe/Berlin",
        location="Her office",
        reminders=[
            {"type": "local_day", "days_before": 1, "at": "09:00:00", "zone": "Europe/Berlin"}
        ],
    )
    assert (appointment["kind"], appointment["location"]) == ("appointment", "Her office")
    # Summer time begins in Berlin that morning: the day before, 09:00 there is 08:00 UTC.
    assert [r["fires_at"] for r in appointment["scheduled_reminders"]] == ["2026-03-28T08:00:00Z"]


async def test_a_change_with_the_current_if_match_is_200_and_then_a_stale_one_412(
    stack: Stack,
) -> None:
    task = await schedule(stack)
    url = f"/v1/activities/{task['id']}"
    moved = await sales(stack).patch(
        url, json={"due_at": "2026-12-04T14:00:00Z"}, headers={**stack.auth(), "If-Match": '"2"'}
    )
    assert moved.status_code == 200, moved.text
    assert moved.headers["etag"] == '"4"'  # changed, then its reminder moved
    assert [r["fires_at"] for r in moved.json()["scheduled_reminders"]] == ["2026-12-04T13:45:00Z"]
    stale = await sales(stack).patch(
        url, json={"notes": "bring the price list"}, headers={**stack.auth(), "If-Match": '"2"'}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == PROBLEM
    assert stale.json()["code"] == "precondition_failed"
    current = await sales(stack).get(url, headers=stack.auth())
    assert (current.json()["notes"], current.json()["version"]) == (None, 4)


async def test_a_retried_scheduling_with_the_same_idempotency_key_answers_the_first_activity(
    stack: Stack,
) -> None:
    keyed = {**stack.auth(), "Idempotency-Key": str(uuid.uuid4())}
    body = call()
    first = await sales(stack).post("/v1/activities", json=body, headers=keyed)
    assert first.status_code == 201, first.text
    retried = await sales(stack).post("/v1/activities", json=body, headers=keyed)
    assert (retried.status_code, retried.headers["idempotent-replayed"]) == (201, "true")
    assert retried.json() == first.json()


async def test_a_done_activity_refuses_a_change_with_409_until_it_is_reopened(
    stack: Stack,
) -> None:
    task = await schedule(stack)
    url = f"/v1/activities/{task['id']}"
    done = await sales(stack).post(f"{url}/complete", headers=stack.auth())
    assert done.status_code == 200, done.text
    assert done.json()["done"] is True
    assert done.json()["completed_at"] is not None
    refused = await sales(stack).patch(url, json={"notes": "one more"}, headers=stack.auth())
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["code"] == "activity_done"
    reopened = await sales(stack).post(f"{url}/reopen", headers=stack.auth())
    assert (reopened.status_code, reopened.json()["done"]) == (200, False)
    changed = await sales(stack).patch(url, json={"notes": "one more"}, headers=stack.auth())
    assert (changed.status_code, changed.json()["notes"]) == (200, "one more")
    history = await sales(stack).get(f"{url}/history", headers=stack.auth())
    assert [entry["type"] for entry in history.json()["items"]] == [
        "crm.sales.activity.scheduled.v1",
        "crm.sales.activity.reminders_scheduled.v1",
        "crm.sales.activity.completed.v1",
        "crm.sales.activity.reopened.v1",
        "crm.sales.activity.changed.v1",
    ]


async def test_a_reminder_that_breaks_a_rule_is_422_naming_its_field(stack: Stack) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        # Refused by the request's own checks...
        ({"reminders": [{"type": "before", "offset": "-PT5M"}]}, "body.reminders.0.before.offset"),
        (
            {
                "reminders": [
                    {"type": "local_day", "days_before": 1, "at": "09:00", "zone": "America"}
                ]
            },
            "body.reminders.0.local_day.zone",
        ),
        # ...and by the reminder rules: 15 minutes before 00:05 on 1 January of the year 1.
        ({"due_at": "0001-01-01T00:05:00Z"}, "body.reminders"),
    ]
    for fields, field in cases:
        response = await sales(stack).post(
            "/v1/activities", json=call(**fields), headers=stack.auth()
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert field in [error["field"] for error in response.json()["errors"]]


async def test_a_task_given_an_end_is_422_naming_ends_at(stack: Stack) -> None:
    response = await sales(stack).post(
        "/v1/activities", json=call(ends_at="2026-12-03T15:00:00Z"), headers=stack.auth()
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [error["field"] for error in response.json()["errors"]] == ["body.ends_at"]


async def test_an_activity_of_another_department_is_404_on_every_route(stack: Stack) -> None:
    task = await schedule(stack)
    url = f"/v1/activities/{task['id']}"
    support = stack.auth(Role.MANAGER, department="support", sub="sam")
    calls = [
        sales(stack).get(url, headers=support),
        sales(stack).get(f"{url}/history", headers=support),
        sales(stack).patch(url, json={"notes": "mine now"}, headers=support),
        sales(stack).post(f"{url}/complete", headers=support),
        sales(stack).post(f"{url}/reopen", headers=support),
        sales(stack).post(f"{url}/archive", headers=support),
    ]
    for request in calls:
        response = await request
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"


async def test_a_cancelled_activity_is_archived_and_takes_no_change(stack: Stack) -> None:
    task = await schedule(stack)
    url = f"/v1/activities/{task['id']}"
    archived = await sales(stack).post(
        f"{url}/archive", json={"reason": "the customer called first"}, headers=stack.auth()
    )
    assert (archived.status_code, archived.json()["archived"]) == (200, True)
    refused = await sales(stack).post(f"{url}/complete", headers=stack.auth())
    assert (refused.status_code, refused.json()["code"]) == (409, "archived")


async def test_the_scheduling_is_a_cloudevent_sealed_with_the_related_contacts_key(
    stack: Stack,
) -> None:
    contact_id = (await a_contact_sales_knows(stack))["id"]
    secret = f"Ada's private number {uuid.uuid4().hex[:8]}"
    task = await schedule(
        stack, related_to={"kind": "contact", "id": contact_id}, notes=secret, subject="Call Ada"
    )
    scheduling, reminders = await published(stack, task["id"], versions=2)
    assert scheduling.topic == TOPIC
    event = from_binary_event(
        KafkaMessage(headers=dict(scheduling.headers), key=scheduling.key, value=scheduling.value)
    )
    assert event.get_type() == "crm.sales.activity.scheduled.v1"
    assert (event.get_source(), event.get_subject()) == ("/crm/sales", task["id"])
    data = event.get_data()
    assert isinstance(data, dict)
    assert is_sealed(data["subject"]) and is_sealed(data["notes"])
    assert sealed_data_subjects(data, ActivityScheduled.personal_fields()) == {
        ("sales", uuid.UUID(contact_id))
    }
    assert secret.encode() not in scheduling.value
    assert b"Call Ada" not in scheduling.value
    assert (data["kind"], data["due_at"], data["department"]) == (
        "task",
        "2026-12-03T14:00:00Z",
        "sales",
    )
    placed = orjson.loads(reminders.value)
    assert dict(reminders.headers)["ce_type"] == b"crm.sales.activity.reminders_scheduled.v1"
    assert placed["reminders"] == task["scheduled_reminders"]


async def test_an_activity_about_an_account_is_sealed_with_its_own_key(stack: Stack) -> None:
    account = await an_account_sales_knows(stack)
    task = await schedule(stack, related_to={"kind": "account", "id": account["id"]})
    (scheduling, *_) = await published(stack, task["id"], versions=1)
    data = orjson.loads(scheduling.value)
    assert sealed_data_subjects(data, ActivityScheduled.personal_fields()) == {
        ("sales", uuid.UUID(task["id"]))
    }


async def test_erasing_a_contact_erases_what_sales_wrote_about_them(stack: Stack) -> None:
    # A contact who never was a lead: sales sealed the activity's texts under the contact's
    # id with a key of its own, which the contacts service's erasure must reach too.
    contact = await a_contact_sales_knows(stack, first_name="Erin", last_name="Erased")
    task = await schedule(
        stack,
        related_to={"kind": "contact", "id": contact["id"]},
        subject="Call Erin about her divorce",
        notes="Erin's private number is +44 20 7946 0000",
    )
    erased = await stack.contacts.post(f"/v1/contacts/{contact['id']}/erase", headers=stack.auth())
    assert erased.status_code == 200, erased.text

    async def sales_key_gone() -> bool | None:
        assert stack.settings.database_url
        async with await psycopg.AsyncConnection.connect(stack.settings.database_url) as conn:
            cur = await conn.execute(
                "SELECT wrapped_key IS NULL FROM sales.data_keys WHERE data_subject_id = %s",
                (contact["id"],),
            )
            row = await cur.fetchone()
        return bool(row and row[0]) or None

    await eventually(sales_key_gone, within=20.0)
    read = await sales(stack).get(f"/v1/activities/{task['id']}", headers=stack.auth())
    assert read.status_code == 200, read.text
    assert "Erin" not in read.text and "7946" not in read.text
