"""A lead's person, as a contact's: exported on request (right of access) and erased on
request (right to erasure), over the real stack; after the erasure no table and no topic
holds the person's email or phone. A converted lead's person is erased as the contact."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from crm_shared.auth.principal import Role
from tests.e2e.conftest import Stack, eventually
from tests.e2e.test_erasure import tables_holding
from tests.e2e.test_sales_conversion import (
    a_lead,
    convert,
    every_record_on_every_topic,
    qualified_lead,
)

PROBLEM = "application/problem+json"


def sales(stack: Stack) -> httpx.AsyncClient:
    return stack.clients["sales"]


def manager(stack: Stack) -> dict[str, str]:
    return stack.auth(Role.MANAGER, sub="mia")


async def registered(stack: Stack) -> tuple[dict[str, Any], dict[str, Any]]:
    person = a_lead()
    response = await sales(stack).post("/v1/leads", json=person, headers=manager(stack))
    assert response.status_code == 201, response.text
    return person, response.json()


async def test_a_leads_export_holds_its_person_and_every_change(stack: Stack) -> None:
    person, lead = await registered(stack)
    await sales(stack).post(f"/v1/leads/{lead['id']}/qualify", headers=manager(stack))

    response = await sales(stack).get(f"/v1/leads/{lead['id']}/export", headers=manager(stack))
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    assert document["format"] == "crm.lead.export.v1"
    assert (document["lead"]["email"], document["lead"]["phone"]) == (
        person["email"],
        person["phone"],
    )
    types = [change["type"] for change in document["history"]]
    assert types[0] == "crm.sales.lead.registered.v1"
    assert "crm.sales.lead.qualified.v1" in types


async def test_another_departments_lead_is_not_exported(stack: Stack) -> None:
    _, lead = await registered(stack)
    response = await sales(stack).get(
        f"/v1/leads/{lead['id']}/export", headers=stack.auth(Role.MANAGER, department="emea")
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


async def test_an_erased_lead_leaves_its_person_in_no_table_and_on_no_topic(stack: Stack) -> None:
    assert stack.settings.database_url and stack.settings.kafka_bootstrap_servers
    person, lead = await registered(stack)
    erased = await sales(stack).post(f"/v1/leads/{lead['id']}/erase", headers=manager(stack))
    assert erased.status_code == 200, erased.text
    assert (erased.json()["email"], erased.json()["phone"]) == (None, None)
    again = await sales(stack).post(f"/v1/leads/{lead['id']}/erase", headers=manager(stack))
    assert again.status_code == 200 and again.json()["version"] == erased.json()["version"]

    exported = await sales(stack).get(f"/v1/leads/{lead['id']}/export", headers=manager(stack))
    assert person["email"] not in exported.text and person["phone"] not in exported.text

    async def nowhere() -> bool:
        # The lead list drops the person once it reads the erasure.
        return not any(
            tables_holding(stack.settings.database_url or "", value)
            for value in (person["email"], person["phone"])
        )

    await eventually(nowhere, within=30)
    raw = await every_record_on_every_topic(stack.settings.kafka_bootstrap_servers)
    assert person["email"].encode() not in raw and person["phone"].encode() not in raw


async def test_only_admins_and_managers_erase_a_lead(stack: Stack) -> None:
    _, lead = await registered(stack)
    refused = await sales(stack).post(
        f"/v1/leads/{lead['id']}/erase", headers=stack.auth(Role.SALES_REP, sub="mia")
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM


async def test_a_converted_leads_person_is_erased_as_the_contact(stack: Stack) -> None:
    lead = await qualified_lead(stack, a_lead())
    converted = await convert(stack, lead["id"])
    assert converted.status_code == 200, converted.text
    refused = await sales(stack).post(f"/v1/leads/{lead['id']}/erase", headers=manager(stack))
    assert refused.status_code == 409
    assert refused.json()["code"] == "erase_the_contact"
    assert converted.json()["contact_id"] in refused.json()["detail"]
    assert uuid.UUID(converted.json()["contact_id"])
