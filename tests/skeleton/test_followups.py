"""The follow-ups service end to end, over the real PostgreSQL and the real broker: what
the skeleton gives a service that declares nothing but its record, its routes and its
read model (``service.py``). Not one behaviour checked here is code of its own."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from aiokafka import ConsumerRecord
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

from crm_shared.auth.principal import Role
from tests.e2e.conftest import eventually
from tests.integration.kafka_tools import read_all
from tests.skeleton.conftest import FollowUps
from tests.skeleton.service import SERVICE

PROBLEM = "application/problem+json"


async def create(followups: FollowUps, **body: Any) -> dict[str, Any]:
    response = await followups.writer.post(
        "/v1/followups",
        json={"subject": "Call back about pricing", **body},
        headers=followups.auth(),
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def published(
    followups: FollowUps, followup_id: str, versions: int
) -> list[ConsumerRecord[bytes, bytes]]:
    """The follow-up's records on the service's topic, once ``versions`` of them are there."""

    async def probe() -> list[ConsumerRecord[bytes, bytes]] | None:
        records = await read_all(followups.settings.kafka_bootstrap_servers or "", SERVICE.topic)
        own = [r for r in records if r.key == followup_id.encode()]
        return own if len(own) >= versions else None

    return await eventually(probe)


async def open_followups(followups: FollowUps, **caller: Any) -> list[dict[str, Any]]:
    response = await followups.board.get("/v1/open-followups", headers=followups.auth(**caller))
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


async def test_creating_a_follow_up_is_201_with_its_view_its_location_and_its_etag(
    followups: FollowUps,
) -> None:
    response = await followups.writer.post(
        "/v1/followups", json={"subject": "Send the contract"}, headers=followups.auth()
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["subject"], created["done"], created["version"]) == (
        "Send the contract",
        False,
        1,
    )
    assert (created["owner"], created["department"]) == ("rep1", "sales")
    assert response.headers["location"] == f"/v1/followups/{created['id']}"
    assert response.headers["etag"] == '"1"'


async def test_the_created_event_is_on_the_services_topic_as_a_binary_mode_cloudevent(
    followups: FollowUps,
) -> None:
    created = await create(followups, subject="Send the contract")
    (record,) = await published(followups, created["id"], versions=1)
    assert record.topic == "crm.followups.events"
    event = from_binary_event(
        KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    )
    assert event.get_specversion() == "1.0"
    assert event.get_type() == "crm.followups.followup.created.v1"
    assert event.get_source() == "/crm/followups"
    assert event.get_subject() == created["id"]
    assert uuid.UUID(event.get_id())
    assert event.get_time() == datetime.fromisoformat(created["created_at"])
    assert event.get_extension("sequence") == "1"
    assert event.get_extension("actor") == "user:rep1"
    # Binary content mode: the attributes travel as headers, the value is the data alone.
    assert event.get_datacontenttype() == "application/json"
    assert event.get_data() == {
        "subject": "Send the contract",
        "done": False,
        "owner": "rep1",
        "department": "sales",
    }


async def test_a_new_follow_up_reaches_the_read_model_and_its_query_route(
    followups: FollowUps,
) -> None:
    created = await create(followups, subject="Book the demo")

    async def listed() -> dict[str, Any] | None:
        return next((f for f in await open_followups(followups) if f["id"] == created["id"]), None)

    assert await eventually(listed) == {
        "id": created["id"],
        "subject": "Book the demo",
        "done": False,
        "owner": "rep1",
        "department": "sales",
    }


async def test_a_change_reaches_the_read_model(followups: FollowUps) -> None:
    created = await create(followups)
    url = f"/v1/followups/{created['id']}"
    done = await followups.writer.patch(url, json={"done": True}, headers=followups.auth())
    assert done.status_code == 200, done.text
    await published(followups, created["id"], versions=2)

    async def gone() -> bool:
        return all(f["id"] != created["id"] for f in await open_followups(followups))

    assert await eventually(gone)


async def test_a_change_with_the_current_if_match_is_200_with_the_next_version(
    followups: FollowUps,
) -> None:
    created = await create(followups)
    response = await followups.writer.patch(
        f"/v1/followups/{created['id']}",
        json={"subject": "Call back on Monday"},
        headers={**followups.auth(), "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["subject"], response.json()["version"]) == ("Call back on Monday", 2)
    assert response.headers["etag"] == '"2"'


async def test_a_change_with_a_stale_if_match_is_412_problem_json_and_changes_nothing(
    followups: FollowUps,
) -> None:
    created = await create(followups)
    url = f"/v1/followups/{created['id']}"
    await followups.writer.patch(url, json={"done": True}, headers=followups.auth())
    stale = await followups.writer.patch(
        url, json={"subject": "Too late"}, headers={**followups.auth(), "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == PROBLEM
    assert stale.json()["code"] == "precondition_failed"
    current = await followups.writer.get(url, headers=followups.auth())
    assert (current.json()["subject"], current.json()["version"]) == (created["subject"], 2)


async def test_an_invalid_body_is_422_problem_json_naming_the_field(followups: FollowUps) -> None:
    created = await create(followups)
    cases = {
        "body.subject": ("/v1/followups", "post", {"subject": ""}),
        "body.done": (f"/v1/followups/{created['id']}", "patch", {"done": "maybe"}),
        "body.colour": (f"/v1/followups/{created['id']}", "patch", {"colour": "red"}),
    }
    for field, (url, method, body) in cases.items():
        response = await getattr(followups.writer, method)(url, json=body, headers=followups.auth())
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == "validation_error"
        assert field in [e["field"] for e in response.json()["errors"]], (field, response.text)


async def test_a_caller_of_another_department_can_neither_see_nor_change_it(
    followups: FollowUps,
) -> None:
    created = await create(followups)
    url = f"/v1/followups/{created['id']}"
    outsider = followups.auth(department="support", sub="rep9")
    read = await followups.writer.get(url, headers=outsider)
    changed = await followups.writer.patch(url, json={"done": True}, headers=outsider)
    for response in (read, changed):
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == "not_found"
    current = await followups.writer.get(url, headers=followups.auth())
    assert (current.json()["done"], current.json()["version"]) == (False, 1)


async def test_a_rep_of_its_department_sees_it_but_may_not_change_anothers(
    followups: FollowUps,
) -> None:
    created = await create(followups)
    url = f"/v1/followups/{created['id']}"
    colleague = followups.auth(sub="rep2")
    assert (await followups.writer.get(url, headers=colleague)).status_code == 200
    refused = await followups.writer.patch(url, json={"done": True}, headers=colleague)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["code"] == "forbidden"


async def test_the_read_model_lists_only_the_callers_departments(followups: FollowUps) -> None:
    ours = await create(followups, subject="Ours")
    theirs = await followups.writer.post(
        "/v1/followups",
        json={"subject": "Theirs"},
        headers=followups.auth(department="support", sub="rep9"),
    )
    assert theirs.status_code == 201

    async def both_listed_for_an_admin() -> bool:
        ids = {f["id"] for f in await open_followups(followups, role=Role.ADMIN, department="hq")}
        return {ours["id"], theirs.json()["id"]} <= ids

    assert await eventually(both_listed_for_an_admin)
    seen_by_sales = {f["id"] for f in await open_followups(followups)}
    assert ours["id"] in seen_by_sales and theirs.json()["id"] not in seen_by_sales


async def test_a_retried_create_with_the_same_idempotency_key_answers_the_same_and_records_one_event(
    followups: FollowUps,
) -> None:
    headers = {**followups.auth(), "Idempotency-Key": str(uuid.uuid4())}
    body = {"subject": "Once only"}
    first = await followups.writer.post("/v1/followups", json=body, headers=headers)
    again = await followups.writer.post("/v1/followups", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    url = f"/v1/followups/{first.json()['id']}"
    history = await followups.writer.get(f"{url}/history", headers=followups.auth())
    assert [entry["version"] for entry in history.json()["items"]] == [1]
    # A later change published after it proves the topic holds no second copy of it.
    await followups.writer.patch(url, json={"done": True}, headers=followups.auth())
    records = await published(followups, first.json()["id"], versions=2)
    assert [dict(r.headers)["ce_sequence"] for r in records] == [b"1", b"2"]


async def test_a_retried_change_with_the_same_idempotency_key_answers_the_same_and_records_one_event(
    followups: FollowUps,
) -> None:
    created = await create(followups)
    url = f"/v1/followups/{created['id']}"
    headers = {**followups.auth(), "Idempotency-Key": str(uuid.uuid4()), "If-Match": '"1"'}
    first = await followups.writer.patch(url, json={"subject": "Twice?"}, headers=headers)
    again = await followups.writer.patch(url, json={"subject": "Twice?"}, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    history = await followups.writer.get(f"{url}/history", headers=followups.auth())
    assert [entry["version"] for entry in history.json()["items"]] == [1, 2]
