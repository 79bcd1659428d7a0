"""Test infrastructure: one real PostgreSQL and one real Kafka-protocol broker per session.

Both are the embedded ones `make up` uses, on free ports, so the tests never touch a
running stack. Tests that need isolation get a database of their own (``fresh_database``)
or topics of their own.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.messaging.topics import ensure_topics


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    # Not under pytest's private tmp: when tests run as root, the server runs as an
    # unprivileged user that must reach its data folder.
    root = Path(tempfile.mkdtemp(prefix="crm-test-pg-"))
    root.chmod(0o755)
    server = EmbeddedPostgres(root, free_port())
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedKafka]:
    broker = EmbeddedKafka(free_port(), log_file=tmp_path_factory.mktemp("kafka") / "tansu.log")
    broker.start()
    asyncio.run(ensure_topics(broker.bootstrap_servers, partitions=4))
    yield broker
    broker.stop()


@pytest.fixture
def fresh_database(postgres: EmbeddedPostgres) -> str:
    """A new, empty database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    postgres.create_database(name)
    return postgres.database_url(name)


@pytest.fixture
async def fresh_topic(kafka: EmbeddedKafka) -> AsyncIterator[str]:
    """A new topic (4 partitions, plus its .dlq) for one test."""
    topic = f"test.{uuid.uuid4().hex[:12]}.events"
    await ensure_topics(kafka.bootstrap_servers, 4, [topic, f"{topic}.dlq"])
    yield topic
