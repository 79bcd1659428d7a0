"""The contacts HTTP API as a client uses it: every route and its failure paths."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from crm_shared.auth.principal import Role
from tests.e2e.conftest import Stack, register_contact

PROBLEM = "application/problem+json"


async def test_registering_a_contact_answers_201_with_location_and_etag(stack: Stack) -> None:
    response = await stack.contacts.post(
        "/v1/contacts",
        json={
            "first_name": "Ada",
            "emails": [{"address": "ada@example.com"}],
            "phones": [{"number": "+44 20 7946 0958"}],
            "tags": ["VIP", "vip", "Newsletter"],
            "custom_fields": {"shoe_size": {"type": "number", "value": 38}},
        },
        headers=stack.auth(sub="alice"),
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/v1/contacts/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert body["phones"][0]["number"] == "+442079460958"
    assert body["tags"] == ["vip", "newsletter"]
    assert body["owner"] == "alice"
    assert body["department"] == "sales"
    fetched = await stack.contacts.get(response.headers["location"], headers=stack.auth())
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert fetched.headers["etag"] == '"1"'


async def test_requests_without_a_valid_token_are_401_problems(stack: Stack) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}):
        response = await stack.contacts.post(
            "/v1/contacts", json={"first_name": "X"}, headers=headers
        )
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == "unauthorized"


async def test_an_expired_token_is_refused(stack: Stack) -> None:
    from crm_shared.auth.tokens import issue_token

    expired = issue_token(
        stack.settings, principal_id="x", role=Role.ADMIN, departments=["sales"], ttl_seconds=-3600
    )
    response = await stack.contacts.get(
        f"/v1/contacts/{uuid.uuid4()}", headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 401


async def test_unknown_fields_bad_emails_and_phones_are_422_naming_the_field(stack: Stack) -> None:
    cases = {
        "body.nickname": {"first_name": "A", "nickname": "x"},
        "body.emails.0.address": {"emails": [{"address": "not-an-email"}]},
        "body.phones.0.number": {"phones": [{"number": "12"}]},
        "body.birthday": {"birthday": "yesterday"},
        "body.tags": {"tags": "vip"},
        "body.custom_fields.Bad Key.[key]": {
            "custom_fields": {"Bad Key": {"type": "string", "value": "x"}}
        },
    }
    for field, body in cases.items():
        response = await stack.contacts.post("/v1/contacts", json=body, headers=stack.auth())
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"] == PROBLEM
        fields = [e["field"] for e in response.json()["errors"]]
        assert field in fields, (field, fields)


async def test_a_body_that_is_not_json_is_422(stack: Stack) -> None:
    response = await stack.contacts.post(
        "/v1/contacts",
        content=b"{not json",
        headers={**stack.auth(), "content-type": "application/json"},
    )
    assert response.status_code == 422


async def test_an_oversized_body_is_413_and_writes_nothing(stack: Stack) -> None:
    big = {"first_name": "A", "source": "x" * (stack.settings.max_body_bytes + 1)}
    response = await stack.contacts.post("/v1/contacts", json=big, headers=stack.auth())
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"

    # Also when the client does not declare the length up front (chunked upload):
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(stack.settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    streamed = await stack.contacts.post(
        "/v1/contacts",
        content=chunks(),
        headers={**stack.auth(), "content-type": "application/json"},
    )
    assert streamed.status_code == 413


async def test_an_unknown_id_is_404_on_every_route(stack: Stack) -> None:
    missing = uuid.uuid4()
    auth = stack.auth()
    calls = [
        stack.contacts.get(f"/v1/contacts/{missing}", headers=auth),
        stack.contacts.patch(f"/v1/contacts/{missing}", json={"first_name": "X"}, headers=auth),
        stack.contacts.post(f"/v1/contacts/{missing}/archive", headers=auth),
        stack.contacts.post(
            f"/v1/contacts/{missing}/interactions",
            json={"channel": "phone", "direction": "inbound"},
            headers=auth,
        ),
        stack.contacts.put(
            f"/v1/contacts/{missing}/consents/email", json={"status": "granted"}, headers=auth
        ),
        stack.contacts.get(f"/v1/accounts/{missing}", headers=auth),
    ]
    for response in await asyncio.gather(*calls):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"


async def test_patch_changes_only_the_given_fields(stack: Stack) -> None:
    contact = await register_contact(stack, job_title="Analyst")
    response = await stack.contacts.patch(
        f"/v1/contacts/{contact['id']}",
        json={"last_name": "Byron", "job_title": None},
        headers=stack.auth(),
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["first_name"], body["last_name"], body["job_title"]) == ("Ada", "Byron", None)
    assert response.headers["etag"] == '"2"'


async def test_patch_with_a_stale_if_match_is_412_and_writes_nothing(stack: Stack) -> None:
    contact = await register_contact(stack)
    url = f"/v1/contacts/{contact['id']}"
    first = await stack.contacts.patch(
        url, json={"first_name": "B"}, headers={**stack.auth(), "If-Match": '"1"'}
    )
    assert first.status_code == 200
    stale = await stack.contacts.patch(
        url, json={"first_name": "C"}, headers={**stack.auth(), "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition_failed"
    current = await stack.contacts.get(url, headers=stack.auth())
    assert current.json()["first_name"] == "B"
    assert current.headers["etag"] == '"2"'


async def test_every_command_on_a_record_takes_if_match(stack: Stack) -> None:
    contact = await register_contact(stack)
    url = f"/v1/contacts/{contact['id']}"
    stale = {**stack.auth(), "If-Match": '"7"'}
    calls = [
        stack.contacts.post(
            f"{url}/interactions", json={"channel": "sms", "direction": "inbound"}, headers=stale
        ),
        stack.contacts.put(f"{url}/consents/sms", json={"status": "granted"}, headers=stale),
        stack.contacts.put(
            f"{url}/assignment", json={"owner": None, "department": "sales"}, headers=stale
        ),
        stack.contacts.post(f"{url}/archive", headers=stale),
        stack.contacts.post(f"{url}/erase", headers=stale),
    ]
    for response in await asyncio.gather(*calls):
        assert response.status_code == 412, response.text
        assert response.json()["code"] == "precondition_failed"
    current = await stack.contacts.get(url, headers=stack.auth())
    assert (current.json()["version"], current.json()["erased"]) == (1, False)


async def test_a_retried_patch_with_the_same_idempotency_key_answers_the_first_result(
    stack: Stack,
) -> None:
    contact = await register_contact(stack)
    url = f"/v1/contacts/{contact['id']}"
    keyed = {**stack.auth(sub="ann"), "Idempotency-Key": str(uuid.uuid4())}
    first = await stack.contacts.patch(url, json={"job_title": "CTO"}, headers=keyed)
    assert first.status_code == 200
    await stack.contacts.patch(url, json={"job_title": "CEO"}, headers=stack.auth())
    retried = await stack.contacts.patch(url, json={"job_title": "CTO"}, headers=keyed)
    assert (retried.status_code, retried.headers["idempotent-replayed"]) == (200, "true")
    assert retried.json() == first.json()
    current = await stack.contacts.get(url, headers=stack.auth())
    assert (current.json()["job_title"], current.json()["version"]) == ("CEO", 3)


async def test_a_malformed_if_match_is_400(stack: Stack) -> None:
    contact = await register_contact(stack)
    response = await stack.contacts.patch(
        f"/v1/contacts/{contact['id']}",
        json={"first_name": "B"},
        headers={**stack.auth(), "If-Match": "yesterday"},
    )
    assert response.status_code == 400


async def test_a_retried_post_with_the_same_idempotency_key_writes_once(stack: Stack) -> None:
    headers = {**stack.auth(sub="retrier"), "Idempotency-Key": str(uuid.uuid4())}
    body = {"first_name": "Once"}
    responses = await asyncio.gather(
        *[stack.contacts.post("/v1/contacts", json=body, headers=headers) for _ in range(5)]
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    again = await stack.contacts.post("/v1/contacts", json=body, headers=headers)
    assert again.json()["id"] == responses[0].json()["id"]
    assert again.headers["idempotent-replayed"] == "true"


async def test_reusing_an_idempotency_key_for_another_request_is_422(stack: Stack) -> None:
    headers = {**stack.auth(sub="reuser"), "Idempotency-Key": "key-1"}
    first = await stack.contacts.post("/v1/contacts", json={"first_name": "One"}, headers=headers)
    assert first.status_code == 201
    second = await stack.contacts.post("/v1/contacts", json={"first_name": "Two"}, headers=headers)
    assert second.status_code == 422
    assert second.json()["code"] == "idempotency_key_reused"


async def test_logging_an_interaction_is_idempotent_with_a_key(stack: Stack) -> None:
    contact = await register_contact(stack)
    url = f"/v1/contacts/{contact['id']}/interactions"
    headers = {**stack.auth(), "Idempotency-Key": "call-42"}
    body = {"channel": "phone", "direction": "inbound", "subject": "Pricing question"}
    first = await stack.contacts.post(url, json=body, headers=headers)
    second = await stack.contacts.post(url, json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    current = await stack.contacts.get(f"/v1/contacts/{contact['id']}", headers=stack.auth())
    assert len(current.json()["interactions"]) == 1


async def test_archived_contacts_refuse_changes_with_409(stack: Stack) -> None:
    contact = await register_contact(stack)
    url = f"/v1/contacts/{contact['id']}"
    archived = await stack.contacts.post(
        f"{url}/archive", json={"reason": "duplicate"}, headers=stack.auth()
    )
    assert archived.status_code == 200
    assert archived.json()["archived"] is True
    refused = await stack.contacts.patch(url, json={"first_name": "X"}, headers=stack.auth())
    assert refused.status_code == 409
    assert refused.json()["code"] == "archived"
    restored = await stack.contacts.post(f"{url}/restore", headers=stack.auth())
    assert restored.json()["archived"] is False


async def test_consent_is_set_per_channel(stack: Stack) -> None:
    contact = await register_contact(stack)
    url = f"/v1/contacts/{contact['id']}/consents"
    granted = await stack.contacts.put(
        f"{url}/email", json={"status": "granted", "source": "web form"}, headers=stack.auth()
    )
    assert granted.status_code == 200
    assert granted.json()["consents"]["email"]["status"] == "granted"
    bad_channel = await stack.contacts.put(
        f"{url}/pigeon", json={"status": "granted"}, headers=stack.auth()
    )
    assert bad_channel.status_code == 422
    bad_status = await stack.contacts.put(
        f"{url}/sms", json={"status": "maybe"}, headers=stack.auth()
    )
    assert bad_status.status_code == 422


async def test_accounts_have_the_same_shape(stack: Stack) -> None:
    created = await stack.contacts.post(
        "/v1/accounts",
        json={"name": "Acme", "domain": "Acme.COM", "size": "11-50"},
        headers=stack.auth(),
    )
    assert created.status_code == 201
    account = created.json()
    assert account["domain"] == "acme.com"
    url = created.headers["location"]
    renamed = await stack.contacts.patch(
        url, json={"name": "Acme Corp"}, headers={**stack.auth(), "If-Match": '"1"'}
    )
    assert renamed.json()["name"] == "Acme Corp"
    nameless = await stack.contacts.patch(url, json={"name": None}, headers=stack.auth())
    assert nameless.status_code == 422
    bad_domain = await stack.contacts.post(
        "/v1/accounts", json={"name": "X", "domain": "not a domain"}, headers=stack.auth()
    )
    assert bad_domain.status_code == 422
    logged = await stack.contacts.post(
        f"{url}/interactions",
        json={"channel": "in_person", "direction": "outbound"},
        headers=stack.auth(),
    )
    assert logged.status_code == 201
    archived = await stack.contacts.post(f"{url}/archive", headers=stack.auth())
    assert archived.json()["archived"] is True


async def test_a_caller_without_a_department_must_name_one(stack: Stack) -> None:
    from crm_shared.auth.tokens import issue_token

    token = issue_token(stack.settings, principal_id="root", role=Role.ADMIN, departments=[])
    response = await stack.contacts.post(
        "/v1/contacts", json={"first_name": "A"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.department"


async def test_health_readiness_and_metrics(stack: Stack) -> None:
    assert (await stack.contacts.get("/healthz")).json() == {"status": "ok"}
    ready = await stack.contacts.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    await register_contact(stack)
    metrics = (await stack.contacts.get("/metrics")).text
    assert "crm_events_appended_total" in metrics
    assert "crm_http_request_duration_seconds_bucket" in metrics


async def test_the_correlation_id_is_echoed_and_generated(stack: Stack) -> None:
    given = await stack.contacts.get("/healthz", headers={"X-Correlation-ID": "abc-123"})
    assert given.headers["x-correlation-id"] == "abc-123"
    generated = await stack.contacts.get("/healthz")
    assert len(generated.headers["x-correlation-id"]) == 36


async def test_history_shows_every_change_oldest_first_with_who_when_and_old_and_new_values(
    stack: Stack,
) -> None:
    contact = await register_contact(stack, headers=stack.auth(sub="ann"), job_title="Analyst")
    url = f"/v1/contacts/{contact['id']}"
    await stack.contacts.patch(
        url,
        json={"job_title": "CTO", "last_name": "Byron"},
        headers={**stack.auth(sub="bob"), "X-Correlation-ID": "req-77"},
    )
    await stack.contacts.post(
        f"{url}/interactions",
        json={"channel": "sms", "direction": "outbound"},
        headers=stack.auth(),
    )
    await stack.contacts.put(
        f"{url}/consents/email", json={"status": "granted"}, headers=stack.auth()
    )
    await stack.contacts.post(f"{url}/archive", headers=stack.auth())
    history = (await stack.contacts.get(f"{url}/history", headers=stack.auth())).json()
    items = history["items"]
    assert [i["version"] for i in items] == [1, 2, 3, 4, 5]
    assert items[0]["actor"] == "user:ann"
    assert {"field": "job_title", "old": None, "new": "Analyst"} in items[0]["changes"]
    update = items[1]
    assert (update["actor"], update["correlation_id"]) == ("user:bob", "req-77")
    assert update["type"] == "crm.contacts.contact.updated.v1"
    assert sorted(update["changes"], key=lambda c: c["field"]) == [
        {"field": "job_title", "old": "Analyst", "new": "CTO"},
        {"field": "last_name", "old": "Lovelace", "new": "Byron"},
    ]
    (interaction,) = items[2]["changes"]
    assert interaction["field"] == "interactions" and interaction["new"][0]["channel"] == "sms"
    assert items[3]["changes"][0]["field"] == "consents"
    assert items[4]["changes"] == [{"field": "archived", "old": False, "new": True}]
    first = (
        await stack.contacts.get(f"{url}/history", params={"limit": 2}, headers=stack.auth())
    ).json()
    rest = (
        await stack.contacts.get(
            f"{url}/history",
            params={"after_version": first["next_after_version"]},
            headers=stack.auth(),
        )
    ).json()
    assert [i["version"] for i in first["items"] + rest["items"]] == [1, 2, 3, 4, 5]
    assert rest["next_after_version"] is None


async def test_history_of_an_unknown_or_out_of_reach_record_is_404(stack: Stack) -> None:
    assert (
        await stack.contacts.get(f"/v1/contacts/{uuid.uuid4()}/history", headers=stack.auth())
    ).status_code == 404
    theirs = await register_contact(stack, department="support")
    outsider = stack.auth(Role.SALES_REP, "sales", "rep")
    assert (
        await stack.contacts.get(f"/v1/contacts/{theirs['id']}/history", headers=outsider)
    ).status_code == 404


async def test_export_holds_profile_consents_interactions_and_history(stack: Stack) -> None:
    contact = await register_contact(stack, emails=[{"address": "export.me@example.com"}])
    url = f"/v1/contacts/{contact['id']}"
    await stack.contacts.put(
        f"{url}/consents/sms", json={"status": "granted"}, headers=stack.auth()
    )
    await stack.contacts.post(
        f"{url}/interactions",
        json={"channel": "email", "direction": "inbound", "notes": "hi"},
        headers=stack.auth(),
    )
    response = await stack.contacts.get(f"{url}/export", headers=stack.auth())
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    assert document["format"] == "crm.contact.export.v1"
    assert document["contact"]["emails"][0]["address"] == "export.me@example.com"
    assert document["contact"]["consents"]["sms"]["status"] == "granted"
    assert document["contact"]["interactions"][0]["notes"] == "hi"
    assert [h["version"] for h in document["history"]] == [1, 2, 3]
    outsider = stack.auth(Role.SALES_REP, "support", "x")
    assert (await stack.contacts.get(f"{url}/export", headers=outsider)).status_code == 404


async def test_tokens_and_keys_never_appear_in_logs_or_error_bodies(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    from crm_shared.auth.api_keys import ApiKeyAdmin

    caplog.set_level("DEBUG")
    assert stack.settings.database_url is not None
    name = f"leak-{uuid.uuid4().hex[:6]}"
    keys = ApiKeyAdmin(stack.settings.database_url)
    _, key = keys.create(name, Role.ADMIN, ["sales"], [])
    token = stack.token()
    forged = token[:-4] + "AAAA"
    bodies = []
    for headers in (
        {"Authorization": f"Bearer {token}"},
        {"Authorization": f"Bearer {forged}"},
        {"X-API-Key": key},
        {"X-API-Key": key + "x"},
    ):
        for call in (
            stack.contacts.post(
                "/v1/contacts", json={"first_name": "L", "bogus": 1}, headers=headers
            ),
            stack.contacts.get(f"/v1/contacts/{uuid.uuid4()}", headers=headers),
            stack.projections.get("/v1/customers", params={"cursor": "!!"}, headers=headers),
        ):
            bodies.append((await call).text)
    keys.revoke(name)
    logged = caplog.text
    for secret in (token, forged, key, key + "x", token.split(".")[2]):
        assert secret not in logged
        assert all(secret not in body for body in bodies)
