"""CloudEvents 1.0 over Kafka, binary mode: attributes in ``ce_*`` headers, data as the value.

Built straight from the stored envelope, so publishing never re-validates an event. The
record key is the aggregate id, so one aggregate's events stay in order on one partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

SPEC_VERSION = b"1.0"
CONTENT_TYPE = b"application/json"


class UndecodableRecord(ValueError):
    """A Kafka record that is not one of our CloudEvents."""


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def encode(
    *,
    source: str,
    type_name: str,
    aggregate_id: UUID | str,
    version: int,
    state: bytes,
) -> KafkaRecord:
    """A stored event (its type, aggregate, version and envelope) as a Kafka record."""
    envelope = orjson.loads(state)
    subject = str(aggregate_id).encode()
    headers = [
        ("ce_specversion", SPEC_VERSION),
        ("ce_id", envelope["id"].encode()),
        ("ce_source", source.encode()),
        ("ce_type", type_name.encode()),
        ("ce_subject", subject),
        ("ce_time", envelope["time"].encode()),
        ("ce_sequence", str(version).encode()),
        ("content-type", CONTENT_TYPE),
    ]
    for attribute, key in (
        ("ce_correlationid", "correlation_id"),
        ("ce_causationid", "causation_id"),
        ("ce_actor", "actor"),
        ("ce_traceparent", "traceparent"),
    ):
        if envelope.get(key):
            headers.append((attribute, str(envelope[key]).encode()))
    return KafkaRecord(key=subject, value=orjson.dumps(envelope["data"]), headers=headers)


@dataclass(slots=True)  # not frozen: a frozen dataclass is several times slower to build
class ReceivedEvent:
    """An event as a consumer sees it (treat it as read-only)."""

    id: str
    type: str
    source: str
    subject: str
    sequence: int
    time: datetime
    data: dict[str, Any]
    actor: str | None
    correlation_id: str | None
    topic: str
    partition: int
    offset: int


def decode(
    headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...],
    value: bytes | None,
    *,
    topic: str,
    partition: int,
    offset: int,
) -> ReceivedEvent:
    attributes = {k: v.decode() for k, v in headers if k.startswith("ce_")}
    try:
        data = orjson.loads(value) if value else {}
        if not isinstance(data, dict):
            raise UndecodableRecord("event data is not a JSON object")
        return ReceivedEvent(
            id=attributes["ce_id"],
            type=attributes["ce_type"],
            source=attributes["ce_source"],
            subject=attributes["ce_subject"],
            sequence=int(attributes["ce_sequence"]),
            time=datetime.fromisoformat(attributes["ce_time"]),
            data=data,
            actor=attributes.get("ce_actor"),
            correlation_id=attributes.get("ce_correlationid"),
            topic=topic,
            partition=partition,
            offset=offset,
        )
    except (KeyError, ValueError, orjson.JSONDecodeError) as error:
        raise UndecodableRecord(f"not a CRM CloudEvent: {error!r}") from error
