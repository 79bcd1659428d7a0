"""Department scoping: every route against every role, on a record in and out of scope.

In scope: department "sales", owned by rep1. Out of scope: department "support". Out of
scope reads as not existing (404); in sight but not the caller's to change is 403.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from crm_shared.auth.principal import Role
from tests.e2e.conftest import Stack, eventually


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role
    sub: str
    department: str = "sales"


CALLERS = [
    Caller("admin", Role.ADMIN, "boss", "hq"),
    Caller("manager", Role.MANAGER, "mgr"),
    Caller("owner rep", Role.SALES_REP, "rep1"),
    Caller("other rep", Role.SALES_REP, "rep2"),
    Caller("agent", Role.SERVICE_AGENT, "agent1"),
    Caller("marketer", Role.MARKETER, "mkt1"),
]

# What each caller may do to the in-scope record (the out-of-scope one: admin only).
MAY_CHANGE = {"admin", "manager", "owner rep"}
MAY_REASSIGN = {"admin", "manager"}
MAY_ERASE = MAY_REASSIGN

WRITES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "update": ("PATCH", "", {"job_title": "Buyer"}),
    "archive": ("POST", "/archive", None),
    "restore": ("POST", "/restore", None),
    "log interaction": ("POST", "/interactions", {"channel": "phone", "direction": "inbound"}),
    "set consent": ("PUT", "/consents/email", {"status": "granted"}),
    "reassign": ("PUT", "/assignment", {"owner": "mgr", "department": "sales"}),
}
UPDATE_BODY = {"contacts": {"job_title": "Buyer"}, "accounts": {"industry": "Retail"}}
# Routes only people have: the right of access and the right to erasure.
CONTACT_READS = ("/export",)
CONTACT_WRITES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "erase": ("POST", "/erase", None),
}


def headers(stack: Stack, caller: Caller) -> dict[str, str]:
    return stack.auth(caller.role, caller.department, caller.sub)


async def create(stack: Stack, kind: str, department: str, owner: str) -> str:
    body: dict[str, Any] = {"department": department, "owner": owner}
    body |= (
        {"first_name": "Scoped"}
        if kind == "contacts"
        else {"name": f"Scoped {uuid.uuid4().hex[:6]}"}
    )
    response = await stack.contacts.post(
        f"/v1/{kind}", json=body, headers=stack.auth(Role.ADMIN, "hq", "boss")
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def expected(caller: Caller, in_scope: bool, action: str) -> int:
    if not in_scope:
        return 200 if caller.name == "admin" else 404
    if action == "read":
        return 200
    allowed = {"reassign": MAY_REASSIGN, "erase": MAY_ERASE}.get(action, MAY_CHANGE)
    return 200 if caller.name in allowed else 403


@pytest.mark.parametrize("kind", ["contacts", "accounts"])
@pytest.mark.parametrize("in_scope", [True, False], ids=["in scope", "out of scope"])
@pytest.mark.parametrize("caller", CALLERS, ids=[c.name for c in CALLERS])
async def test_every_contacts_route_obeys_the_policy(
    stack: Stack, kind: str, in_scope: bool, caller: Caller
) -> None:
    department = "sales" if in_scope else "support"
    read_id = await create(stack, kind, department, "rep1")
    for path in ("", "/history", *(CONTACT_READS if kind == "contacts" else ())):
        read = await stack.contacts.get(
            f"/v1/{kind}/{read_id}{path}", headers=headers(stack, caller)
        )
        assert read.status_code == expected(caller, in_scope, "read"), (path, read.text)
    writes = WRITES | (CONTACT_WRITES if kind == "contacts" else {})
    for action, (method, path, body) in writes.items():
        record_id = await create(stack, kind, department, "rep1")
        if action == "restore":  # something to restore
            archived = await stack.contacts.post(
                f"/v1/{kind}/{record_id}/archive", headers=stack.auth(Role.ADMIN, "hq", "boss")
            )
            assert archived.status_code == 200
        if action == "update":
            body = UPDATE_BODY[kind]
        response = await stack.contacts.request(
            method, f"/v1/{kind}/{record_id}{path}", json=body, headers=headers(stack, caller)
        )
        want = expected(caller, in_scope, action)
        want = 201 if want == 200 and action == "log interaction" else want
        assert response.status_code == want, (action, response.text)
        if want in (403, 404):
            assert response.headers["content-type"] == "application/problem+json"
            unchanged = await stack.contacts.get(
                f"/v1/{kind}/{record_id}", headers=stack.auth(Role.ADMIN, "hq", "boss")
            )
            assert unchanged.json()["version"] == (2 if action == "restore" else 1), action


@pytest.mark.parametrize("caller", CALLERS, ids=[c.name for c in CALLERS])
async def test_creating_is_allowed_only_in_the_callers_reach(stack: Stack, caller: Caller) -> None:
    own = await stack.contacts.post(
        "/v1/contacts", json={"first_name": "Mine"}, headers=headers(stack, caller)
    )
    assert own.status_code == 201
    elsewhere = await stack.contacts.post(
        "/v1/contacts",
        json={"first_name": "Theirs", "department": "support"},
        headers=headers(stack, caller),
    )
    assert elsewhere.status_code == (201 if caller.name == "admin" else 403)
    for someone in ("rep1", "mgr"):
        for_someone = await stack.contacts.post(
            "/v1/contacts",
            json={"first_name": "For", "department": caller.department, "owner": someone},
            headers=headers(stack, caller),
        )
        may = caller.role in (Role.ADMIN, Role.MANAGER) or someone == caller.sub
        assert for_someone.status_code == (201 if may else 403), (someone, for_someone.text)


async def test_the_360_search_count_and_reads_show_only_what_the_caller_may_see(
    stack: Stack,
) -> None:
    tag = f"s{uuid.uuid4().hex[:8]}"
    admin = stack.auth(Role.ADMIN, "hq", "boss")
    ids = {}
    for department, count in (("sales", 3), ("support", 2)):
        for i in range(count):
            response = await stack.contacts.post(
                "/v1/contacts",
                json={"first_name": f"{department}{i}", "department": department, "tags": [tag]},
                headers=admin,
            )
            ids.setdefault(department, []).append(response.json()["id"])

    async def all_projected() -> bool:
        page = (
            await stack.projections.get("/v1/customers", params={"tag": tag}, headers=admin)
        ).json()
        return page["total"] == 5

    await eventually(all_projected)
    for caller in CALLERS:
        auth = headers(stack, caller)
        page = (
            await stack.projections.get(
                "/v1/customers", params={"tag": tag, "limit": 2}, headers=auth
            )
        ).json()
        visible = 5 if caller.name == "admin" else 3
        assert page["total"] == visible, caller.name
        seen = [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        while cursor:
            page = (
                await stack.projections.get(
                    "/v1/customers", params={"tag": tag, "limit": 2, "cursor": cursor}, headers=auth
                )
            ).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
        assert sorted(seen) == sorted(
            ids["sales"] + (ids["support"] if caller.name == "admin" else [])
        )
        for department in ("sales", "support"):
            want = 200 if department == "sales" or caller.name == "admin" else 404
            for path in ("", "/timeline"):
                response = await stack.projections.get(
                    f"/v1/customers/{ids[department][0]}{path}", headers=auth
                )
                assert response.status_code == want, (caller.name, department, path)
