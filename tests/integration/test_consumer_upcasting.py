"""An event recorded as an older version reaches a projection as the current version,
through the real broker: the catalog's upcasters run on the read side too."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from psycopg import AsyncConnection

from crm_shared.events import Catalog, EventData, ReceivedEvent, event_type
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.messaging.cloudevents import encode
from crm_shared.messaging.consumer import ConsumerSettings, ProjectionConsumer
from tests.integration.test_consumer import produce

EVENTS = Catalog()


@pytest.fixture
def settings(fresh_database: str, kafka: EmbeddedKafka) -> ConsumerSettings:
    return ConsumerSettings(kafka.bootstrap_servers, fresh_database, schema="readmodel")


@event_type("test", "ticket", "opened", catalog=EVENTS)
class TicketOpenedV1(EventData):
    title: str


class TicketTitles:
    """Keeps each opened ticket's subject and priority, and what it received."""

    name = f"titles_{uuid.uuid4().hex[:6]}"

    def __init__(self, topic: str, handles: Sequence[type[EventData]]) -> None:
        self.topics = (topic,)
        self.handles = handles
        self.received: list[ReceivedEvent[EventData]] = []

    async def setup(self, conn: AsyncConnection[Any]) -> None:
        pass

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        pass

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        self.received += events


async def test_an_event_recorded_before_its_v2_existed_reaches_the_projection_as_v2(
    settings: ConsumerSettings, fresh_topic: str
) -> None:
    ticket = uuid.uuid4()
    state = orjson.dumps(
        {"id": str(uuid.uuid4()), "time": "2026-11-01T10:00:00+00:00", "data": {"title": "Jam"}}
    )
    v1 = encode(
        source="/crm/test",
        type_name=TicketOpenedV1.type_name,
        aggregate_id=ticket,
        version=1,
        state=state,
    )
    await produce(settings.bootstrap_servers, fresh_topic, [(v1.key, v1.value, v1.headers)])

    # Later, a breaking change: the title became a subject, and tickets got a priority.
    @event_type("test", "ticket", "opened", version=2, catalog=EVENTS)
    class TicketOpened(EventData):
        subject: str
        priority: str

    EVENTS.register_upcaster(
        TicketOpenedV1.type_name,
        TicketOpened.type_name,
        lambda data: {"subject": data["title"], "priority": "normal"},
    )
    projection = TicketTitles(fresh_topic, handles=(TicketOpened,))
    read = await ProjectionConsumer(projection, settings, catalog=EVENTS).catch_up()

    assert read == 1
    (event,) = projection.received
    assert event.data == TicketOpened(subject="Jam", priority="normal")
    assert event.type_name == "crm.test.ticket.opened.v2"
    assert (event.recorded_type, event.aggregate_id, event.version) == (
        "crm.test.ticket.opened.v1",
        ticket,
        1,
    )
