"""The read models an event-sourced service keeps for itself, consumed while it runs.

A service lists its lists, searches, due instants and the little it keeps of other
services' records as ``ReadModel``s (``event_sourced_app(..., read_models=[...])``); each
gets a ``ProjectionConsumer`` that starts and stops with the app and reports in
``/readyz``. Every worker process and every replica of the service runs one consumer per
read model, all in one Kafka consumer group per read model (``crm.<schema>.<name>``):
the group gives each partition to one of them, and the partition claims in the read
model's schema refuse the batch of a consumer that lost its partition, so each event is
applied once however many workers and replicas run (docs/architecture.md, "Replicas").
Each read model keeps its consumer's positions in its own schema, beside its tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from psycopg import AsyncConnection

from crm_shared.catalog import CATALOG
from crm_shared.events import Catalog
from crm_shared.messaging.consumer import ConsumerSettings, ProjectionConsumer
from crm_shared.privacy.key_client import DataKeyClient
from crm_shared.projections import Projections, ReadModel
from crm_shared.settings import Settings


def consumer_settings(
    settings: Settings, database_url: str, bootstrap_servers: str
) -> ConsumerSettings:
    """How a service's read models are consumed (the schema is each read model's own)."""
    return ConsumerSettings(
        bootstrap_servers=bootstrap_servers,
        database_url=database_url,
        schema="",  # set per read model
        batch_size=settings.consumer_batch_size,
        max_retries=settings.consumer_max_retries,
        poll_ms=settings.consumer_poll_ms,
        group=settings.consumer_group,
    )


class KeptReadModels:
    """A service's read models and, once started, their consumers."""

    def __init__(
        self,
        read_models: Sequence[ReadModel],
        settings: ConsumerSettings,
        catalog: Catalog = CATALOG,
    ) -> None:
        Projections(*read_models)  # refuses two of one name, or one handling nothing
        schemas = [m.schema for m in read_models]
        if len(set(schemas)) != len(schemas):
            # A rebuild swaps a whole schema, consumer positions included.
            raise ValueError(f"each read model needs a schema of its own: {schemas}")
        self.read_models = tuple(read_models)
        self.settings = settings
        self.catalog = catalog
        self.consumers: list[ProjectionConsumer] = []

    def settings_of(self, read_model: ReadModel, keys: DataKeyClient | None) -> ConsumerSettings:
        opens = keys if read_model.opens_personal_data else None
        return replace(self.settings, schema=read_model.schema, keys=opens)

    async def start(self, keys: DataKeyClient | None) -> None:
        """Starts one consumer per read model (``keys`` opens the personal fields)."""
        try:
            for read_model in self.read_models:
                consumer = ProjectionConsumer(
                    read_model, self.settings_of(read_model, keys), self.catalog
                )
                await _set_up_alone(consumer)
                await consumer.start()
                self.consumers.append(consumer)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for consumer in reversed(self.consumers):
            await consumer.stop()
        self.consumers.clear()

    def readiness(self) -> dict[str, Any]:
        """One check per read model: ready once its consumer has caught up."""
        running = {c.projection.name: c for c in self.consumers}
        return {
            m.name: running[m.name].readiness if m.name in running else _not_started
            for m in self.read_models
        }


async def _set_up_alone(consumer: ProjectionConsumer) -> None:
    """Creates the read model's schema and tables while no other process does: workers
    starting at once would race on CREATE ... IF NOT EXISTS (PostgreSQL answers the loser
    with a unique violation on its catalog). One lock for every read model, since an
    extension they create (pg_trgm) is the database's, not a schema's."""
    async with await AsyncConnection.connect(
        consumer.settings.database_url, autocommit=True
    ) as conn:
        await conn.execute("SELECT pg_advisory_lock(hashtext('crm-setup:read-models'))")
        try:
            await consumer.setup()  # the consumer's start sets up again: a no-op by then
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext('crm-setup:read-models'))")


async def _not_started() -> dict[str, Any]:
    return {"status": "starting"}
