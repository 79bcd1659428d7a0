"""What `crm projections rebuild` refuses to build beside a live read model, before it
reads a single event (over the real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from psycopg import AsyncConnection

from crm_shared.catalog.contacts import ContactRegistered
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.messaging.consumer import ConsumerSettings, ProjectionConsumer
from crm_shared.messaging.rebuild import CannotRebuild, rebuild
from crm_shared.projections import ReadModel


class NamesItsSchema(ReadModel):
    """A read model whose statements name its live schema, whatever its instance's."""

    name = "names_its_schema"
    topics = ("test.never.read",)
    handles = (ContactRegistered,)
    schema = "literal"
    tables = ("things",)
    ddl = ("CREATE TABLE IF NOT EXISTS literal.things (id text PRIMARY KEY)",)

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        raise AssertionError("a refused rebuild applies nothing")


async def _schemas(database_url: str) -> set[str]:
    async with await AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT nspname FROM pg_namespace")
        return {name for (name,) in await cur.fetchall()}


async def test_a_read_model_whose_statements_name_its_schema_is_not_built_beside_it(
    fresh_database: str,
) -> None:
    settings = ConsumerSettings("127.0.0.1:1", fresh_database, schema="literal")
    async with await AsyncConnection.connect(fresh_database, autocommit=True) as conn:
        await conn.execute("CREATE SCHEMA literal")  # the live model, as its service made it

    with pytest.raises(CannotRebuild, match="did not build its tables in 'literal_build'"):
        await rebuild(NamesItsSchema(), settings)

    assert "literal_build" not in await _schemas(fresh_database)


async def test_a_read_models_consumer_keeps_its_positions_in_the_read_models_schema() -> None:
    # Whatever schema the service's settings name: so a swap always carries them.
    settings = ConsumerSettings("127.0.0.1:1", "postgresql://unused", schema="shared_positions")

    consumer = ProjectionConsumer(NamesItsSchema(), settings)

    assert consumer.settings.schema == "literal"
    assert consumer.state.offsets == '"literal".consumer_offsets'
    assert consumer.group_id == "crm.literal.names_its_schema"
