"""The projections service served as `crm up` serves it, over the session's real
PostgreSQL and broker, with the sales service's events published to the real topic
directly (the sales routes that record them are not needed to read the forecast)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from psycopg import AsyncConnection

from crm_projections.main import SERVICE
from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.messaging.cloudevents import encode
from crm_shared.messaging.offsets import end_offsets
from crm_shared.messaging.topics import dead_letter_topic, ensure_topics, events_topic
from crm_shared.settings import Settings
from tests.conftest import free_port
from tests.e2e.conftest import serve, stack_settings

SALES_TOPIC = events_topic("sales")
PARTITIONS = 4


@dataclass
class ForecastService:
    settings: Settings
    app: Any
    client: httpx.AsyncClient

    def auth(
        self, department: str, role: Role = Role.MANAGER, sub: str = "manager"
    ) -> dict[str, str]:
        token = issue_token(self.settings, principal_id=sub, role=role, departments=[department])
        return {"Authorization": f"Bearer {token}"}

    async def applied_everything(self) -> bool:
        """Whether the forecast's consumer has applied every record on crm.sales.events."""
        assert self.settings.database_url and self.settings.kafka_bootstrap_servers
        partitions = [TopicPartition(SALES_TOPIC, p) for p in range(PARTITIONS)]
        ends = await end_offsets(self.settings.kafka_bootstrap_servers, partitions)
        async with await AsyncConnection.connect(self.settings.database_url) as conn:
            cur = await conn.execute(
                "SELECT partition, next_offset FROM forecast.consumer_offsets"
                " WHERE consumer = 'forecast' AND topic = %s",
                (SALES_TOPIC,),
            )
            applied = dict(await cur.fetchall())
        return all(applied.get(tp.partition, 0) >= end for tp, end in ends.items())

    async def publish(self, events: Sequence[ReceivedEvent[EventData]]) -> None:
        """Each event as the sales service's relay publishes it: a binary-mode CloudEvent
        keyed by its aggregate, on crm.sales.events."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers, acks="all"
        )
        await producer.start()
        try:
            for event in events:
                envelope = {
                    "id": str(event.event_id),
                    "time": event.time.isoformat(),
                    "actor": event.actor,
                    "data": event.data.model_dump(mode="json"),
                }
                record = encode(
                    source="/crm/sales",
                    type_name=event.data.type_name,
                    aggregate_id=event.aggregate_id,
                    version=event.version,
                    state=orjson.dumps(envelope),
                )
                await producer.send_and_wait(
                    SALES_TOPIC, record.value, key=record.key, headers=record.headers
                )
        finally:
            await producer.stop()


@pytest.fixture(scope="package")
async def forecast_service(
    postgres: EmbeddedPostgres, kafka: EmbeddedKafka
) -> AsyncIterator[ForecastService]:
    postgres.create_database("forecast")
    settings = stack_settings(
        postgres.database_url("forecast"), kafka.bootstrap_servers, {SERVICE.name: free_port()}
    )
    topics = [events_topic("contacts"), SALES_TOPIC]
    await ensure_topics(
        kafka.bootstrap_servers, PARTITIONS, [*topics, *(dead_letter_topic(t) for t in topics)]
    )
    async with AsyncExitStack() as exits:
        app, client = await serve(exits, SERVICE, settings)
        yield ForecastService(settings, app, client)
