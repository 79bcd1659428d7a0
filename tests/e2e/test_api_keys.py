"""API keys for other systems: created once, stored hashed, refused soon after revocation."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from typer.testing import CliRunner

from crm_shared.auth.api_keys import ApiKeyAdmin, hash_key
from crm_shared.auth.principal import Role
from crm_shared.cli import app as crm
from crm_shared.settings import get_settings
from tests.e2e.conftest import Stack, eventually


def admin(stack: Stack) -> ApiKeyAdmin:
    assert stack.settings.database_url is not None
    return ApiKeyAdmin(stack.settings.database_url)


async def test_a_system_registers_a_contact_with_its_key_and_is_the_recorded_actor(
    stack: Stack,
) -> None:
    name = f"erp-{uuid.uuid4().hex[:6]}"
    _, key = admin(stack).create(name, Role.SALES_REP, ["sales"], [])
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        response = await stack.contacts.post(
            "/v1/contacts", json={"first_name": "Sys"}, headers=headers
        )
        assert response.status_code == 201, response.text
        assert response.json()["department"] == "sales"
    contact_id = response.json()["id"]

    async def actor() -> str | None:
        view = await stack.projections.get(f"/v1/customers/{contact_id}", headers=stack.auth())
        return view.json()["timeline"][0]["actor"] if view.status_code == 200 else None

    assert await eventually(actor) == f"api_key:{name}"


async def test_only_the_hash_of_a_key_is_stored(stack: Stack) -> None:
    _, key = admin(stack).create(f"h-{uuid.uuid4().hex[:6]}", Role.MARKETER, ["marketing"], [])
    assert stack.settings.database_url is not None
    with psycopg.connect(stack.settings.database_url) as conn:
        rows = conn.execute("SELECT key_hash, hint FROM auth.api_keys").fetchall()
    assert hash_key(key) in [r[0] for r in rows]
    assert all(key not in (h, hint) for h, hint in rows)


async def test_a_revoked_key_is_refused_within_seconds(stack: Stack) -> None:
    name = f"rev-{uuid.uuid4().hex[:6]}"
    keys = admin(stack)
    _, key = keys.create(name, Role.SERVICE_AGENT, ["support"], [])
    url = f"/v1/contacts/{uuid.uuid4()}"
    assert (await stack.contacts.get(url, headers={"X-API-Key": key})).status_code == 404
    keys.revoke(name)

    async def refused() -> bool:
        return (await stack.contacts.get(url, headers={"X-API-Key": key})).status_code == 401

    await eventually(refused, within=10)


async def test_an_unknown_key_is_401_and_a_key_acts_only_with_its_role(stack: Stack) -> None:
    assert (
        await stack.contacts.get(f"/v1/contacts/{uuid.uuid4()}", headers={"X-API-Key": "crm_nope"})
    ).status_code == 401
    _, key = admin(stack).create(f"r-{uuid.uuid4().hex[:6]}", Role.SALES_REP, ["sales"], [])
    created = await stack.contacts.post(
        "/v1/contacts", json={"first_name": "K"}, headers={"X-API-Key": key}
    )
    refused = await stack.contacts.put(
        f"/v1/contacts/{created.json()['id']}/assignment",
        json={"owner": "x", "department": "sales"},
        headers={"X-API-Key": key},
    )
    assert refused.status_code == 403


async def test_last_use_is_kept(stack: Stack) -> None:
    name = f"u-{uuid.uuid4().hex[:6]}"
    _, key = admin(stack).create(name, Role.ADMIN, ["sales"], [])
    await stack.contacts.get(f"/v1/contacts/{uuid.uuid4()}", headers={"X-API-Key": key})
    (listed,) = [k for k in admin(stack).list() if k.name == name]
    assert listed.last_used_at is not None


def test_the_cli_creates_lists_and_revokes_keys(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stack.settings.database_url is not None
    monkeypatch.setenv("CRM_DATABASE_URL", stack.settings.database_url)
    get_settings.cache_clear()
    try:
        name = f"cli-{uuid.uuid4().hex[:6]}"
        runner = CliRunner()
        created = runner.invoke(
            crm,
            ["apikey", "create", "--name", name, "--role", "marketer", "--department", "marketing"],
        )
        assert created.exit_code == 0, created.output
        key = created.output.strip().splitlines()[-1]
        assert key.startswith("crm_")
        again = runner.invoke(crm, ["apikey", "create", "--name", name, "--role", "marketer"])
        assert again.exit_code != 0
        listed = runner.invoke(crm, ["apikey", "list"])
        assert name in listed.output and key not in listed.output
        revoked = runner.invoke(crm, ["apikey", "revoke", name])
        assert revoked.exit_code == 0
        assert runner.invoke(crm, ["apikey", "revoke", "no-such-key"]).exit_code != 0
    finally:
        get_settings.cache_clear()
