"""The activity list (GET /v1/activities) and the calendar feed (GET /v1/calendar/...) as
clients use them, over the real PostgreSQL and broker: activities scheduled over HTTP
reach the sales service's own read model through its topic, are filtered and paged
within the caller's departments, and come out of the feed as iCalendar a program reads.

Every test gives its activities an assignee of its own and filters by it, so that the
activities of other tests in the shared stack do not show."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from icalendar import Calendar

from crm_shared.auth.principal import Role
from crm_shared.projections.paging import encode_cursor
from tests.e2e.conftest import Stack, eventually
from tests.e2e.sales_references import a_contact_sales_knows

PROBLEM = "application/problem+json"
# The first activity waits for the consumer group to hand out the partitions (seconds).
WITHIN = 60.0


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


def new_user() -> str:
    return f"rep-{uuid.uuid4().hex[:10]}"


async def schedule(stack: Stack, assignee: str, **fields: Any) -> dict[str, Any]:
    body = {
        "kind": "task",
        "subject": "Call Ada about the renewal",
        "notes": "She prefers mornings",
        "due_at": "2026-12-03T14:00:00Z",
        "assignee": assignee,
        "reminders": [{"type": "before", "offset": "PT15M"}],
        **fields,
    }
    response = await sales(stack).post("/v1/activities", json=body, headers=stack.auth())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def listed(
    stack: Stack, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    response = await sales(stack).get(
        "/v1/activities", params=params, headers=headers or stack.auth()
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def all_listed(stack: Stack, count: int, **params: Any) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = (await listed(stack, **params))["items"]
        return items if len(items) >= count else None

    return await eventually(probe, within=WITHIN)


async def test_activities_are_listed_by_assignee_soonest_due_first(stack: Stack) -> None:
    user = new_user()
    later = await schedule(stack, user, due_at="2026-12-05T09:00:00Z")
    sooner = await schedule(stack, user, due_at="2026-12-04T09:00:00Z")
    items = await all_listed(stack, 2, assignee=user)
    assert [i["id"] for i in items] == [sooner["id"], later["id"]]
    assert items[0]["next_reminder_at"] == "2026-12-04T08:45:00Z"


async def test_the_list_holds_no_personal_text(stack: Stack) -> None:
    user = new_user()
    await schedule(stack, user)
    (item,) = await all_listed(stack, 1, assignee=user)
    assert "subject" not in item and "notes" not in item
    assert "Ada" not in str(item) and "mornings" not in str(item)


async def test_due_before_done_and_related_to_filter_the_list(stack: Stack) -> None:
    user, ada = new_user(), (await a_contact_sales_knows(stack))["id"]
    early = await schedule(stack, user, due_at="2026-12-01T09:00:00Z")
    about_ada = await schedule(
        stack, user, due_at="2026-12-09T09:00:00Z", related_to={"kind": "contact", "id": ada}
    )
    done = await schedule(stack, user, due_at="2026-12-10T09:00:00Z")
    completed = await sales(stack).post(
        f"/v1/activities/{done['id']}/complete", headers=stack.auth()
    )
    assert completed.status_code == 200, completed.text
    await eventually(lambda: _items(stack, assignee=user, done="true"), within=WITHIN)
    before = await listed(stack, assignee=user, due_before="2026-12-05T00:00:00Z")
    assert [i["id"] for i in before["items"]] == [early["id"]]
    open_ = await listed(stack, assignee=user, done="false")
    assert {i["id"] for i in open_["items"]} == {early["id"], about_ada["id"]}
    about = await listed(stack, assignee=user, related_to=ada)
    assert [i["id"] for i in about["items"]] == [about_ada["id"]]


async def _items(stack: Stack, **params: Any) -> list[dict[str, Any]] | None:
    items: list[dict[str, Any]] = (await listed(stack, **params))["items"]
    return items or None


async def test_the_list_pages_with_a_cursor(stack: Stack) -> None:
    user = new_user()
    for day in (1, 2, 3):
        await schedule(stack, user, due_at=f"2026-12-0{day}T09:00:00Z")
    everything = await all_listed(stack, 3, assignee=user)
    first = await listed(stack, assignee=user, limit=2)
    assert first["total"] == 3 and first["next_cursor"]
    second = await listed(stack, assignee=user, limit=2, cursor=first["next_cursor"])
    assert second["next_cursor"] is None
    assert [i["id"] for i in first["items"] + second["items"]] == [i["id"] for i in everything]


async def test_the_list_shows_only_the_callers_departments(stack: Stack) -> None:
    user = new_user()
    await schedule(stack, user)
    await all_listed(stack, 1, assignee=user)
    support = stack.auth(Role.SALES_REP, department="support", sub="rep9")
    assert (await listed(stack, headers=support, assignee=user))["items"] == []


async def test_a_bad_parameter_is_refused_naming_it(stack: Stack) -> None:
    response = await sales(stack).get(
        "/v1/activities", params={"due_before": "tomorrow"}, headers=stack.auth()
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "due_before" in response.text


async def test_a_forged_cursor_is_refused(stack: Stack) -> None:
    forged = encode_cursor("not a time", str(uuid.uuid4()))
    response = await sales(stack).get(
        "/v1/activities", params={"cursor": forged}, headers=stack.auth()
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.cursor"]


# --- the calendar feed ----------------------------------------------------------------


async def issue(stack: Stack, user: str, headers: dict[str, str] | None = None) -> str:
    response = await sales(stack).post(
        f"/v1/calendar/{user}/token", headers=headers or stack.auth(Role.SALES_REP, sub=user)
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


async def feed(stack: Stack, user: str, token: str | None) -> httpx.Response:
    params = {"token": token} if token is not None else {}
    return await sales(stack).get(f"/v1/calendar/{user}.ics", params=params)


async def test_the_feed_holds_the_users_activities_as_icalendar(stack: Stack) -> None:
    user = new_user()
    task = await schedule(stack, user, due_at="2099-12-03T14:00:00Z")
    meeting = await schedule(
        stack,
        user,
        kind="appointment",
        subject="Renewal meeting",
        location="Video call",
        due_at=None,
        starts_at="2099-12-04T10:00:00Z",
        ends_at="2099-12-04T11:00:00Z",
    )
    await schedule(stack, new_user(), subject="Someone else's call")
    await all_listed(stack, 2, assignee=user)
    response = await feed(stack, user, await issue(stack, user))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    todo = {str(c["uid"]): c for c in calendar.walk("VTODO")}
    events = {str(c["uid"]): c for c in calendar.walk("VEVENT")}
    assert list(todo) == [f"activity-{task['id']}@crm"]
    assert list(events) == [f"activity-{meeting['id']}@crm"]
    (call,) = todo.values()
    assert str(call["summary"]) == "Call Ada about the renewal"
    assert str(call["description"]) == "She prefers mornings"
    assert len(call.walk("VALARM")) == 1
    (appointment,) = events.values()
    assert str(appointment["location"]) == "Video call"
    assert "Someone else" not in response.text


async def test_a_user_issues_their_own_token(stack: Stack) -> None:
    user = new_user()
    response = await sales(stack).post(
        f"/v1/calendar/{user}/token", headers=stack.auth(Role.SALES_REP, sub=user)
    )
    assert response.status_code == 201, response.text
    assert (await feed(stack, user, response.json()["token"])).status_code == 200


async def test_an_admin_issues_a_users_token(stack: Stack) -> None:
    user = new_user()
    response = await sales(stack).post(
        f"/v1/calendar/{user}/token", headers=stack.auth(Role.ADMIN, sub="the-admin")
    )
    assert response.status_code == 201, response.text
    assert (await feed(stack, user, response.json()["token"])).status_code == 200


async def test_another_rep_may_not_issue_a_users_token(stack: Stack) -> None:
    user = new_user()
    response = await sales(stack).post(
        f"/v1/calendar/{user}/token", headers=stack.auth(Role.SALES_REP, sub="another-rep")
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "forbidden"


async def test_a_manager_may_not_issue_a_users_token(stack: Stack) -> None:
    user = new_user()
    old = await issue(stack, user)
    response = await sales(stack).post(
        f"/v1/calendar/{user}/token", headers=stack.auth(Role.MANAGER, sub="the-manager")
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "forbidden"
    assert (await feed(stack, user, old)).status_code == 200  # and the user's still works


async def test_a_new_token_revokes_the_old(stack: Stack) -> None:
    user = new_user()
    old = await issue(stack, user)
    new = await issue(stack, user)
    assert (await feed(stack, user, new)).status_code == 200
    assert (await feed(stack, user, old)).status_code == 404


async def test_a_wrong_token_and_an_unknown_user_answer_alike(stack: Stack) -> None:
    user = new_user()
    await issue(stack, user)
    wrong = await feed(stack, user, "not-the-token")
    nobody = await feed(stack, new_user(), "not-the-token")
    missing = await feed(stack, user, None)
    assert wrong.status_code == nobody.status_code == missing.status_code == 404
    assert wrong.json() == nobody.json() == missing.json()
