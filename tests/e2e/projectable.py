"""Helpers for the specifications that everything accepted reaches the customer 360."""

from __future__ import annotations

from typing import Any

from crm_shared.messaging.topics import dead_letter_topic, events_topic
from tests.e2e.conftest import Stack, eventually
from tests.integration.kafka_tools import read_all


async def projected(stack: Stack, contact_id: str, version: int) -> dict[str, Any]:
    """The contact's 360 document once it shows ``version`` (fails if it never does)."""

    async def probe() -> dict[str, Any] | None:
        response = await stack.projections.get(f"/v1/customers/{contact_id}", headers=stack.auth())
        if response.status_code != 200 or response.json()["version"] < version:
            return None
        document: dict[str, Any] = response.json()
        return document

    return await eventually(probe, within=20)


async def dead_letters_about(stack: Stack, subjects: set[str]) -> list[dict[str, bytes]]:
    """The headers of every record about these aggregates on the contacts dead-letter
    topic. Call it once the 360 shows their last version: the consumer dead-letters a
    record before it applies anything after it."""
    records = await read_all(
        stack.settings.kafka_bootstrap_servers, dead_letter_topic(events_topic("contacts"))
    )
    about = []
    for record in records:
        headers = dict(record.headers)
        if headers.get("ce_subject", b"").decode() in subjects:
            about.append(headers)
    return about
