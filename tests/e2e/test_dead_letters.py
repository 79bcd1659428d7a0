"""A 360 write PostgreSQL refuses: the dead letter and the logs hold no personal data,
before or after the person is erased, and a redrive applies the event once fixed."""

from __future__ import annotations

import logging

import psycopg
import pytest

from crm_shared.messaging.dead_letters import read_dead_letters, redrive, still_pending
from crm_shared.messaging.topics import dead_letter_topic, events_topic
from tests.e2e.conftest import Stack, eventually
from tests.e2e.test_erasure import a_person, clear_texts, erased_in_360

DLQ = dead_letter_topic(events_topic("contacts"))

# As a real refusal does, the error quotes the decrypted document in message and detail.
REFUSE = """
CREATE OR REPLACE FUNCTION projections.refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.doc::text LIKE '%' || {marker} || '%' THEN
    RAISE EXCEPTION 'cannot store %', NEW.doc::text USING DETAIL = NEW.doc::text;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_marked BEFORE INSERT OR UPDATE ON projections.customers
  FOR EACH ROW EXECUTE FUNCTION projections.refuse_marked();
"""
ALLOW = "DROP TRIGGER IF EXISTS refuse_marked ON projections.customers"


async def test_a_refused_360_write_leaves_no_personal_data_in_the_dead_letter_or_the_logs(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    assert stack.settings.database_url and stack.settings.kafka_bootstrap_servers
    bootstrap, database_url = stack.settings.kafka_bootstrap_servers, stack.settings.database_url
    person = {**a_person(), "birthday": "1815-12-10"}
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(REFUSE.replace("{marker}", f"'{person['last_name']}'"))  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.INFO):
            response = await stack.contacts.post("/v1/contacts", json=person, headers=stack.auth())
            assert response.status_code == 201, response.text
            contact_id = response.json()["id"]

            async def dead_lettered() -> list[object]:
                letters = await read_dead_letters(bootstrap, [DLQ])
                return [d for d in letters if d.aggregate_id == contact_id]

            await eventually(dead_lettered, within=30)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(ALLOW)
    erased = await stack.contacts.post(f"/v1/contacts/{contact_id}/erase", headers=stack.auth())
    assert erased.status_code == 200, erased.text

    secrets = [*clear_texts(person), person["first_name"], person["birthday"]]
    records = [r for r in await _dlq_records(bootstrap) if r.key == contact_id.encode()]
    assert records
    for record in records:
        for name, value in [*record.headers, ("value", record.value or b"")]:
            for secret in secrets:
                assert secret.encode() not in value, (name, secret)
    for secret in secrets:
        assert secret not in caplog.text

    # The cause fixed, a redrive applies the parked registration: the 360 shows the
    # person, as erased.
    letters = [d for d in await read_dead_letters(bootstrap, [DLQ]) if d.aggregate_id == contact_id]
    assert all(pending for _, pending in await still_pending(letters, database_url, "projections"))
    assert await redrive(letters, bootstrap, database_url, "projections")
    await eventually(lambda: erased_in_360(stack, contact_id), within=30)
    assert not any(p for _, p in await still_pending(letters, database_url, "projections"))


async def _dlq_records(bootstrap: str) -> list:  # type: ignore[type-arg]
    from tests.integration.kafka_tools import read_all

    return await read_all(bootstrap, DLQ)
