"""The readiness checks end by themselves when a dependency does not answer."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import psycopg
import pytest
from aiokafka.errors import KafkaConnectionError

from crm_shared.health import broker_check, database_check
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from tests.conftest import free_port

# Far beyond the checks' own bounds: reaching it means a check waits for ever.
NEVER = 30.0


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel completes them) and never answers,
    as a stopped server does."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


async def test_the_database_check_passes_on_a_running_database(
    postgres: EmbeddedPostgres,
) -> None:
    await database_check(postgres.url)()


async def test_the_database_check_gives_up_on_a_database_that_never_answers(
    silent_server: int,
) -> None:
    check = database_check(f"postgresql://crm@127.0.0.1:{silent_server}/crm")
    with pytest.raises(psycopg.OperationalError):
        await asyncio.wait_for(check(), timeout=NEVER)


async def test_the_broker_check_passes_on_a_running_broker(kafka: EmbeddedKafka) -> None:
    await broker_check(kafka.bootstrap_servers)()


async def test_the_broker_check_fails_when_the_broker_is_gone() -> None:
    check = broker_check(f"127.0.0.1:{free_port()}")
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(check(), timeout=NEVER)


async def test_the_broker_check_gives_up_on_a_broker_that_never_answers(
    silent_server: int,
) -> None:
    check = broker_check(f"127.0.0.1:{silent_server}")
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(check(), timeout=NEVER)
