"""References are scoped: a contact's account and an account's parent must exist and be in
the caller's sight when the link is made; a link whose account later moves out of sight
shows the reader that there is an account, not what it is.

Each rule is a specification (tests/contacts/specs/test_references.py); these tests prove
the wiring: the refusals over HTTP, nothing stored, the real event store as the resolver,
and the customer 360 hiding what moved out of sight.

The caller is a sales rep of "sales" unless a test says otherwise; "support" is out of
their sight.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest

from crm_shared.auth.principal import Role
from tests.e2e.conftest import Stack, eventually

ADMIN = (Role.ADMIN, "hq", "boss")


def rep(stack: Stack) -> dict[str, str]:
    return stack.auth(Role.SALES_REP, "sales", "rep1")


def admin(stack: Stack) -> dict[str, str]:
    return stack.auth(*ADMIN)


def marker() -> str:
    return f"m{uuid.uuid4().hex[:10]}"


async def an_account(stack: Stack, department: str, **fields: Any) -> str:
    body = {"name": f"Acme {marker()}", "department": department, "owner": None, **fields}
    response = await stack.contacts.post("/v1/accounts", json=body, headers=admin(stack))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def a_contact(stack: Stack, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await stack.contacts.post(
        "/v1/contacts", json={"first_name": "Linda", **fields}, headers=headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def events_holding(stack: Stack, text: str) -> int:
    """Events in the contacts event store whose stored form contains ``text``."""
    assert stack.settings.database_url is not None
    with psycopg.connect(stack.settings.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM contacts.contacts_events WHERE position(%s in state) > 0",
            (text.encode(),),
        ).fetchone()
    return int(row[0]) if row else 0


def assert_refused(response: httpx.Response, code: str, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    assert [error["field"] for error in problem["errors"]] == [field]


async def unknown_account(stack: Stack) -> str:
    return str(uuid.uuid4())


async def another_departments_account(stack: Stack) -> str:
    return await an_account(stack, "support")


async def a_contacts_id(stack: Stack) -> str:
    return str((await a_contact(stack, rep(stack)))["id"])


UNSEEABLE = {
    "unknown": unknown_account,
    "another department's": another_departments_account,
    "a contact's id": a_contacts_id,
}


# --- making a link -------------------------------------------------------------------


async def test_a_rep_links_a_contact_to_an_account_of_their_department(stack: Stack) -> None:
    first, second = await an_account(stack, "sales"), await an_account(stack, "sales")
    contact = await a_contact(stack, rep(stack), account_id=first)
    assert contact["account_id"] == first
    changed = await stack.contacts.patch(
        f"/v1/contacts/{contact['id']}", json={"account_id": second}, headers=rep(stack)
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["account_id"] == second


@pytest.mark.parametrize("whose", list(UNSEEABLE))
async def test_registering_a_contact_with_an_account_out_of_sight_is_refused_and_stores_nothing(
    stack: Stack, whose: str
) -> None:
    account_id, text = await UNSEEABLE[whose](stack), marker()
    response = await stack.contacts.post(
        "/v1/contacts",
        json={"first_name": "Linda", "source": text, "account_id": account_id},
        headers=rep(stack),
    )
    assert_refused(response, "unknown_reference", "body.account_id")
    assert events_holding(stack, text) == 0


@pytest.mark.parametrize("whose", list(UNSEEABLE))
async def test_linking_a_contact_to_an_account_out_of_sight_is_refused_and_changes_nothing(
    stack: Stack, whose: str
) -> None:
    contact, text = await a_contact(stack, rep(stack)), marker()
    account_id = await UNSEEABLE[whose](stack)
    response = await stack.contacts.patch(
        f"/v1/contacts/{contact['id']}",
        json={"job_title": text, "account_id": account_id},
        headers=rep(stack),
    )
    assert_refused(response, "unknown_reference", "body.account_id")
    assert events_holding(stack, text) == 0
    unchanged = (
        await stack.contacts.get(f"/v1/contacts/{contact['id']}", headers=rep(stack))
    ).json()
    assert (unchanged["version"], unchanged["account_id"]) == (1, None)


async def test_an_account_that_does_not_exist_and_one_out_of_sight_get_the_same_answer(
    stack: Stack,
) -> None:
    answers = []
    for account_id in (await unknown_account(stack), await another_departments_account(stack)):
        response = await stack.contacts.post(
            "/v1/contacts", json={"account_id": account_id}, headers=rep(stack)
        )
        assert response.status_code == 422
        answers.append(response.text.replace(account_id, "<id>"))
    assert answers[0] == answers[1]


async def test_an_accounts_parent_must_be_an_account_in_sight(stack: Stack) -> None:
    unseen, own = await another_departments_account(stack), await an_account(stack, "sales")
    created = await stack.contacts.post(
        "/v1/accounts", json={"name": "Child", "parent_account_id": unseen}, headers=rep(stack)
    )
    assert_refused(created, "unknown_reference", "body.parent_account_id")
    child = await stack.contacts.post(
        "/v1/accounts", json={"name": "Child", "parent_account_id": own}, headers=rep(stack)
    )
    assert child.status_code == 201, child.text
    moved = await stack.contacts.patch(
        f"/v1/accounts/{child.json()['id']}",
        json={"parent_account_id": unseen},
        headers=rep(stack),
    )
    assert_refused(moved, "unknown_reference", "body.parent_account_id")


# --- archived accounts ---------------------------------------------------------------


async def test_no_new_contact_is_linked_to_an_archived_account(stack: Stack) -> None:
    account_id = await an_account(stack, "sales")
    archived = await stack.contacts.post(f"/v1/accounts/{account_id}/archive", headers=admin(stack))
    assert archived.status_code == 200
    registered = await stack.contacts.post(
        "/v1/contacts", json={"account_id": account_id}, headers=rep(stack)
    )
    assert_refused(registered, "archived_reference", "body.account_id")
    contact = await a_contact(stack, rep(stack))
    linked = await stack.contacts.patch(
        f"/v1/contacts/{contact['id']}", json={"account_id": account_id}, headers=rep(stack)
    )
    assert_refused(linked, "archived_reference", "body.account_id")


# --- an account that moves out of sight after the link --------------------------------


async def view(stack: Stack, contact_id: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await stack.projections.get(f"/v1/customers/{contact_id}", headers=headers)
    assert response.status_code in (200, 404), response.text
    result: dict[str, Any] = response.json() if response.status_code == 200 else {}
    return result


async def found_by(stack: Stack, q: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await stack.projections.get("/v1/customers", params={"q": q}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_an_account_moved_to_another_department_is_hidden_from_those_who_may_not_see_it(
    stack: Stack,
) -> None:
    company = f"Globex {marker()}"
    account_id = await an_account(stack, "sales", industry="Energy", domain="globex.example")
    renamed = await stack.contacts.patch(
        f"/v1/accounts/{account_id}", json={"name": company}, headers=admin(stack)
    )
    assert renamed.status_code == 200
    person = f"Hank{marker()}"
    contact = await a_contact(stack, rep(stack), first_name=person, account_id=account_id)

    async def rep_sees_the_account() -> bool:
        account = (await view(stack, contact["id"], rep(stack))).get("account") or {}
        return account.get("name") == company

    await eventually(rep_sees_the_account)
    assert [i["id"] for i in await found_by(stack, company, rep(stack))] == [contact["id"]]

    moved = await stack.contacts.put(
        f"/v1/accounts/{account_id}/assignment",
        json={"owner": None, "department": "support"},
        headers=admin(stack),
    )
    assert moved.status_code == 200, moved.text

    async def rep_no_longer_sees_it() -> bool:
        account = (await view(stack, contact["id"], rep(stack))).get("account") or {}
        return account == {"id": account_id, "visible": False}

    await eventually(rep_no_longer_sees_it)
    assert await found_by(stack, company, rep(stack)) == []
    [by_name] = await found_by(stack, person, rep(stack))
    assert by_name["account"] == {"id": account_id, "visible": False}

    as_admin = await view(stack, contact["id"], admin(stack))
    assert as_admin["account"]["name"] == company
    assert as_admin["account"]["industry"] == "Energy"
    assert as_admin["account"]["visible"] is True
    assert [i["id"] for i in await found_by(stack, company, admin(stack))] == [contact["id"]]
