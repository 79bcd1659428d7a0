"""The topics of the CRM: one per installed service that publishes, and one per service
an installed one consumes (``topic_owners``), each with a dead-letter companion."""

from __future__ import annotations

import contextlib
import logging

log = logging.getLogger(__name__)


def events_topic(service: str) -> str:
    return f"crm.{service}.events"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


def all_topics() -> list[str]:
    from crm_shared.service import installed_services, topic_owners

    topics = [events_topic(name) for name in topic_owners(installed_services().values())]
    return topics + [dead_letter_topic(t) for t in topics]


async def ensure_topics(
    bootstrap_servers: str, partitions: int, topics: list[str] | None = None
) -> None:
    """Creates the topics that do not exist yet (brokers auto-create with other settings)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in (topics or all_topics()) if t not in existing]
        if missing:
            # A concurrent starter may create them first.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
            log.info("created topics", extra={"topics": missing})
    finally:
        await admin.close()
