"""The follow-ups service served as a service of the stack would be: its writer and its
reader built from their definitions, over the session's real PostgreSQL and broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest

from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.infra.embedded_kafka import EmbeddedKafka
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.messaging.topics import dead_letter_topic, ensure_topics
from crm_shared.settings import Settings
from tests.conftest import free_port
from tests.e2e.conftest import serve, stack_settings
from tests.skeleton.service import BOARD, SERVICE


@dataclass
class FollowUps:
    settings: Settings
    writer: httpx.AsyncClient
    board: httpx.AsyncClient

    def auth(
        self, role: Role = Role.SALES_REP, department: str = "sales", sub: str = "rep1"
    ) -> dict[str, str]:
        token = issue_token(self.settings, principal_id=sub, role=role, departments=[department])
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
async def followups(postgres: EmbeddedPostgres, kafka: EmbeddedKafka) -> AsyncIterator[FollowUps]:
    postgres.create_database("followups")
    ports = {SERVICE.name: free_port(), BOARD.name: free_port()}
    settings = stack_settings(postgres.database_url("followups"), kafka.bootstrap_servers, ports)
    # What `crm up` does for an installed service: its topic and dead letters exist.
    await ensure_topics(
        kafka.bootstrap_servers, 4, [SERVICE.topic, dead_letter_topic(SERVICE.topic)]
    )
    async with AsyncExitStack() as exits:
        _, writer = await serve(exits, SERVICE, settings)
        _, board = await serve(exits, BOARD, settings)
        yield FollowUps(settings, writer, board)
