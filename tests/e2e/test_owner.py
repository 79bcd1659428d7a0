"""Who owns a new record: the caller unless they say otherwise, and nobody only when a
manager or an admin says so; never a silent substitute for what the client sent.

The rule for every role is a specification (tests/contacts/specs/test_registering.py);
these prove it over HTTP, for each kind of record."""

from __future__ import annotations

from typing import Any

import pytest

from crm_shared.auth.principal import Role
from tests.e2e.conftest import Stack, register_contact

BODIES = {"contacts": {"first_name": "Owned"}, "accounts": {"name": "Owned Ltd"}}
UNOWNING_ROLES = [Role.SALES_REP]


def invalid_field(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize("kind", BODIES)
@pytest.mark.parametrize("role", UNOWNING_ROLES)
async def test_a_rep_asking_for_an_unowned_record_is_told_so_naming_the_owner(
    stack: Stack, kind: str, role: Role
) -> None:
    response = await stack.contacts.post(
        f"/v1/{kind}",
        json={**BODIES[kind], "owner": None},
        headers=stack.auth(role, "sales", "rita"),
    )
    assert invalid_field(response) == ["body.owner"]


@pytest.mark.parametrize("kind", BODIES)
async def test_a_rep_leaving_the_owner_out_owns_the_new_record(stack: Stack, kind: str) -> None:
    response = await stack.contacts.post(
        f"/v1/{kind}", json=BODIES[kind], headers=stack.auth(Role.SALES_REP, "sales", "rita")
    )
    assert (response.status_code, response.json()["owner"]) == (201, "rita")


@pytest.mark.parametrize("kind", BODIES)
@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
async def test_a_manager_or_admin_may_create_an_unowned_record(
    stack: Stack, kind: str, role: Role
) -> None:
    response = await stack.contacts.post(
        f"/v1/{kind}",
        json={**BODIES[kind], "owner": None},
        headers=stack.auth(role, "sales", "mia"),
    )
    assert (response.status_code, response.json()["owner"]) == (201, None)


@pytest.mark.parametrize("owner", [None, "rita"])
async def test_a_change_cannot_set_the_owner_it_is_a_reassignment(
    stack: Stack, owner: str | None
) -> None:
    contact = await register_contact(stack, headers=stack.auth(Role.SALES_REP, "sales", "rita"))
    response = await stack.contacts.patch(
        f"/v1/contacts/{contact['id']}",
        json={"owner": owner},
        headers=stack.auth(Role.SALES_REP, "sales", "rita"),
    )
    assert invalid_field(response) == ["body.owner"]
    unchanged = await stack.contacts.get(f"/v1/contacts/{contact['id']}", headers=stack.auth())
    assert (unchanged.json()["owner"], unchanged.json()["version"]) == ("rita", 1)
