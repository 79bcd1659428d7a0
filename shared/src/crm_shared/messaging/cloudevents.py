"""CloudEvents 1.0 over Kafka, binary mode: attributes in ``ce_*`` headers, data as the value.

Built straight from the stored envelope, so publishing never re-validates an event. The
record key is the aggregate id, so one aggregate's events stay in order on one partition.
Reading takes the envelope from the headers and the data as JSON; the data becomes a typed
event through the catalog (``decoding``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias
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
    # The aggregate id is the record's key (its partition, its order) and the CloudEvents
    # attribute the specification calls subject.
    aggregate = str(aggregate_id).encode()
    headers = [
        ("ce_specversion", SPEC_VERSION),
        ("ce_id", envelope["id"].encode()),
        ("ce_source", source.encode()),
        ("ce_type", type_name.encode()),
        ("ce_subject", aggregate),
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
    return KafkaRecord(key=aggregate, value=orjson.dumps(envelope["data"]), headers=headers)


# What the headers say, in the order of ``Envelope``'s first fields: event id, aggregate
# id, version, time, actor, correlation id, recorded type.
Attributes: TypeAlias = tuple[UUID, UUID, int, datetime, str | None, str | None, str]


def read_attributes(headers: Sequence[tuple[str, bytes]]) -> Attributes:
    """A record's CloudEvents attributes (its data is decoded through the catalog, see
    ``decoding``). A record without ours is an ``UndecodableRecord``."""
    attributes = dict(headers)
    attribute = "ce_id"
    try:
        event_id = UUID(attributes[attribute].decode())
        attribute = "ce_subject"
        aggregate_id = UUID(attributes[attribute].decode())
        attribute = "ce_sequence"
        version = int(attributes[attribute])
        attribute = "ce_time"
        time = datetime.fromisoformat(attributes[attribute].decode())
        attribute = "ce_type"
        recorded_type = attributes[attribute].decode()
        attribute = "ce_actor or ce_correlationid"
        actor, correlation_id = attributes.get("ce_actor"), attributes.get("ce_correlationid")
        return (
            event_id,
            aggregate_id,
            version,
            time,
            actor.decode() if actor is not None else None,
            correlation_id.decode() if correlation_id is not None else None,
            recorded_type,
        )
    except KeyError:
        raise UndecodableRecord(f"not a CRM CloudEvent: no {attribute} header") from None
    except ValueError as error:  # UnicodeDecodeError included
        # Named, not quoted: the message of a parse error holds the value.
        raise UndecodableRecord(
            f"not a CRM CloudEvent: {attribute} is malformed ({type(error).__name__})"
        ) from None


def read_data(value: bytes | None) -> dict[str, Any]:
    """A record's data as JSON (before it is decoded through the catalog)."""
    try:
        data = orjson.loads(value) if value else {}
    except orjson.JSONDecodeError:
        raise UndecodableRecord("event data is not JSON") from None
    if not isinstance(data, dict):
        raise UndecodableRecord("event data is not a JSON object")
    return data
