"""A deal's account, primary contact and contact roles, and the record an activity is
about, are checked over the real stack: the contacts service's events reach the sales
service's read model of contacts and accounts (``crm_sales.contact_records``) over the
real broker, and the sales service refuses, as the contacts service does for a contact's
account, a reference to a record that is unknown or out of the caller's sight (422
``unknown_reference`` naming the field, the same answer for both) or archived (422
``archived_reference``), and stores nothing then. An erased contact is unknown.

Each rule is a specification (tests/sales/specs/test_references.py); these tests prove the
wiring. The caller is rita, a sales rep of "sales"; "support" is out of her sight."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg

from crm_shared.auth.principal import Role
from tests.e2e.conftest import Stack, eventually
from tests.e2e.sales_references import (
    WITHIN,
    a_contact_sales_knows,
    an_account_sales_knows,
    sales_row,
)
from tests.e2e.test_sales_opportunities import define_pipeline

PROBLEM = "application/problem+json"


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


def rep(stack: Stack) -> dict[str, str]:
    return stack.auth(Role.SALES_REP, sub="rita")


async def open_deal(stack: Stack, **fields: Any) -> httpx.Response:
    pipeline = await define_pipeline(stack)
    body = {
        "name": f"Acme {uuid.uuid4().hex[:8]}",
        "pipeline_id": pipeline["id"],
        "currency": "EUR",
        "amount": "1000.00",
        "close_date": "2026-12-15",
        **fields,
    }
    return await sales(stack).post("/v1/opportunities", json=body, headers=rep(stack))


def assert_refused(response: httpx.Response, code: str, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == code
    assert [error["field"] for error in problem["errors"]] == [field]


def events_holding(stack: Stack, text: str) -> int:
    """Events in the sales event store whose stored form contains ``text``."""
    assert stack.settings.database_url is not None
    with psycopg.connect(stack.settings.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM sales.sales_events WHERE position(%s in state) > 0",
            (text.encode(),),
        ).fetchone()
    return int(row[0]) if row else 0


async def test_a_deal_naming_an_account_and_contacts_the_rep_sees_is_opened(
    stack: Stack,
) -> None:
    account = await an_account_sales_knows(stack)
    ada = await a_contact_sales_knows(stack, account_id=account["id"])
    grace = await a_contact_sales_knows(stack, first_name="Grace")
    roles = [{"contact_id": grace["id"], "role": "champion"}]
    response = await open_deal(
        stack, account_id=account["id"], primary_contact_id=ada["id"], contact_roles=roles
    )
    assert response.status_code == 201, response.text
    deal = response.json()
    assert (deal["account_id"], deal["primary_contact_id"]) == (account["id"], ada["id"])
    assert deal["contact_roles"] == roles


async def test_unknown_ids_are_refused_naming_the_field(stack: Stack) -> None:
    unknown = str(uuid.uuid4())
    account = await open_deal(stack, account_id=unknown)
    assert_refused(account, "unknown_reference", "body.account_id")
    contact = await open_deal(stack, primary_contact_id=unknown)
    assert_refused(contact, "unknown_reference", "body.primary_contact_id")
    role = await open_deal(stack, contact_roles=[{"contact_id": unknown, "role": "user"}])
    assert_refused(role, "unknown_reference", "body.contact_roles.0.contact_id")


async def test_another_departments_contact_gets_the_answer_an_unknown_one_gets(
    stack: Stack,
) -> None:
    theirs, unknown = (
        (await a_contact_sales_knows(stack, department="support"))["id"],
        str(uuid.uuid4()),
    )
    seen = await open_deal(stack, primary_contact_id=theirs)
    assert_refused(seen, "unknown_reference", "body.primary_contact_id")
    unseen = await open_deal(stack, primary_contact_id=unknown)
    assert seen.json()["detail"].replace(theirs, "ID") == unseen.json()["detail"].replace(
        unknown, "ID"
    )


async def test_a_refused_deal_is_not_stored(stack: Stack) -> None:
    name = f"Refused {uuid.uuid4().hex[:8]}"
    response = await open_deal(stack, name=name, account_id=str(uuid.uuid4()))
    assert response.status_code == 422, response.text
    assert events_holding(stack, name) == 0


async def test_an_archived_account_is_refused_as_archived(stack: Stack) -> None:
    account = await an_account_sales_knows(stack)
    url = f"/v1/accounts/{account['id']}/archive"
    archived = await stack.contacts.post(url, headers=stack.auth())
    assert archived.status_code == 200, archived.text

    async def archived_in_sales() -> bool:
        row = await sales_row(stack, account["id"])
        return row is not None and row[1]

    await eventually(archived_in_sales, within=WITHIN)
    response = await open_deal(stack, account_id=account["id"])
    assert_refused(response, "archived_reference", "body.account_id")


async def test_an_erased_contact_is_no_longer_referencable(stack: Stack) -> None:
    ada = await a_contact_sales_knows(stack)
    erased = await stack.contacts.post(f"/v1/contacts/{ada['id']}/erase", headers=stack.auth())
    assert erased.status_code == 200, erased.text

    async def erased_in_sales() -> bool:
        row = await sales_row(stack, ada["id"])
        return row is not None and row[2]

    await eventually(erased_in_sales, within=WITHIN)
    response = await open_deal(stack, primary_contact_id=ada["id"])
    assert_refused(response, "unknown_reference", "body.primary_contact_id")


async def test_moving_a_deal_to_an_unknown_account_is_refused(stack: Stack) -> None:
    opened = await open_deal(stack)
    assert opened.status_code == 201, opened.text
    response = await sales(stack).patch(
        f"/v1/opportunities/{opened.json()['id']}",
        json={"account_id": str(uuid.uuid4())},
        headers=rep(stack),
    )
    assert_refused(response, "unknown_reference", "body.account_id")


async def test_an_activity_about_an_unknown_contact_is_refused_naming_it(stack: Stack) -> None:
    body = {
        "kind": "task",
        "subject": "Call",
        "due_at": "2026-12-03T14:00:00Z",
        "related_to": {"kind": "contact", "id": str(uuid.uuid4())},
    }
    response = await sales(stack).post("/v1/activities", json=body, headers=rep(stack))
    assert_refused(response, "unknown_reference", "body.related_to.id")
