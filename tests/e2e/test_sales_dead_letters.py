"""A sales read model's write PostgreSQL refuses: the event is dead-lettered under that
read model's name, `crm dlq list` finds it pending in the read model's own schema, and
`crm dlq redrive --consumer` applies it once the cause is fixed; the other read models of
the service carry on meanwhile."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import pytest
from typer.testing import Result

from crm_sales.deal_list import SCHEMA as DEAL_LIST
from crm_shared.messaging.dead_letters import read_dead_letters
from crm_shared.messaging.topics import dead_letter_topic, events_topic
from tests.e2e.conftest import Stack, eventually
from tests.e2e.test_operator_commands import described, run  # noqa: F401 (a fixture)
from tests.e2e.test_sales_deal_list import define_pipeline, listed, new_team, open_deal

DLQ = dead_letter_topic(events_topic("sales"))


async def crm(*command: str) -> Result:
    """`crm ...`, in a thread: the command runs its own event loop."""
    return await asyncio.to_thread(run, *command)


REFUSE = f"""
CREATE OR REPLACE FUNCTION "{DEAL_LIST}".refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.name = {{marker}} THEN RAISE EXCEPTION 'cannot store this deal'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_marked BEFORE INSERT OR UPDATE ON "{DEAL_LIST}".deals
  FOR EACH ROW EXECUTE FUNCTION "{DEAL_LIST}".refuse_marked();
"""
ALLOW = f'DROP TRIGGER IF EXISTS refuse_marked ON "{DEAL_LIST}".deals'


@pytest.mark.usefixtures("described")
async def test_a_refused_deal_list_write_is_dead_lettered_listed_and_redriven(
    stack: Stack,
) -> None:
    assert stack.settings.database_url and stack.settings.kafka_bootstrap_servers
    bootstrap, database_url = stack.settings.kafka_bootstrap_servers, stack.settings.database_url
    name, team = f"Refused {uuid.uuid4().hex[:8]}", new_team()
    pipeline = await define_pipeline(stack)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(REFUSE.replace("{marker}", f"'{name}'"))  # type: ignore[arg-type]
    try:
        deal = await open_deal(stack, pipeline, team, name=name)
        beside = await open_deal(stack, pipeline, team)

        async def dead_lettered() -> list[Any]:
            letters = await read_dead_letters(bootstrap, [DLQ])
            return [d for d in letters if d.aggregate_id == deal["id"]]

        (letter,) = await eventually(dead_lettered, within=30)
        assert letter.consumer == "deal_list"
        # The deal opened beside it is listed: one refusal parks only its own deal.
        assert [i["id"] for i in (await listed(stack, team=team))["items"]] == [beside["id"]]

        pending = await crm("dlq", "list")
        assert pending.exit_code == 0, pending.output
        (row,) = [line for line in pending.output.splitlines() if "deal_list" in line]
        assert "pending" in row and "crm.sales.opportunity.opened.v1" in row
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(ALLOW)

    redriven = await crm("dlq", "redrive", "--consumer", "deal_list")
    assert redriven.exit_code == 0, redriven.output
    assert "deal_list: crm.sales.events" in redriven.output

    async def both_listed() -> bool:
        items = (await listed(stack, team=team))["items"]
        return {i["id"] for i in items} == {deal["id"], beside["id"]}

    await eventually(both_listed, within=30)
    after = await crm("dlq", "list")
    assert not [line for line in after.output.splitlines() if "deal_list" in line]
