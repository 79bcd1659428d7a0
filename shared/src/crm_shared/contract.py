"""The published contract, generated from the catalog: a JSON Schema per event type and
one AsyncAPI 3.0 document for every topic (FastStream generates it; we add the CloudEvents
headers and the Kafka key and partition bindings FastStream does not know about)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from crm_shared.catalog import CATALOG
from crm_shared.events.catalog import PERSONAL, EventData
from crm_shared.messaging.topics import dead_letter_topic, events_topic
from crm_shared.privacy.cipher import holds_data

CLOUDEVENTS_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes, Kafka protocol binding, binary mode",
    "required": [
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_subject",
        "ce_time",
        "ce_sequence",
        "content-type",
    ],
    "properties": {
        "ce_specversion": {"const": "1.0"},
        "ce_id": {
            "type": "string",
            "format": "uuid",
            "description": "The event's id; identical on every re-publish",
        },
        "ce_source": {"type": "string", "examples": ["/crm/contacts"]},
        "ce_type": {"type": "string", "description": "crm.<service>.<aggregate>.<event>.v<N>"},
        "ce_subject": {"type": "string", "format": "uuid", "description": "The aggregate id"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_sequence": {
            "type": "string",
            "description": "The aggregate's version after this event",
        },
        "ce_actor": {
            "type": "string",
            "description": "Who caused the event (user:<id> or api_key:<name>)",
        },
        "ce_correlationid": {"type": "string"},
        "ce_causationid": {"type": "string"},
        "ce_traceparent": {"type": "string"},
        "content-type": {"const": "application/json"},
    },
}


SEALED_VALUE: dict[str, Any] = {
    "type": "string",
    "pattern": "^pii:v1:[a-z_]+:[0-9a-f-]{36}:[A-Za-z0-9_-]+$",
    "description": "Personal data sealed with the person's own key: "
    "pii:v1:<service>:<subject>:<base64url(nonce + AES-256-GCM ciphertext + tag)>. "
    "The plaintext is the JSON value described by x-sealed-schema; the key comes from "
    "the owning service's /v1/data-keys endpoint (pii:read). Null once the person is erased.",
}


def seal_schema(schema: Any) -> Any:
    """The schema of what is published: personal fields (and custom field values marked
    personal) travel sealed. The plaintext schema stays visible as ``x-sealed-schema``."""
    if isinstance(schema, list):
        return [seal_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get(PERSONAL) is True:
        plaintext = {k: v for k, v in schema.items() if k not in (PERSONAL, "default", "title")}
        sealed = {k: v for k, v in schema.items() if k in ("title", "description", "default")}
        # Null and an empty list hold nothing personal: they travel as they are.
        empty: list[dict[str, Any]] = [{"type": "null"}]
        if _allows_array(plaintext):
            empty.append({"type": "array", "maxItems": 0})
        return sealed | {
            PERSONAL: True,
            "anyOf": [SEALED_VALUE, *empty],
            "x-sealed-schema": plaintext,
        }
    sealed = {key: seal_schema(value) for key, value in schema.items()}
    properties = sealed.get("properties")
    if isinstance(properties, dict) and "personal" in properties and "value" in properties:
        # A custom field: its value is sealed when it is marked personal.
        properties["value"] = {"anyOf": [properties["value"], SEALED_VALUE]}
    return sealed


def _allows_array(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array" or any(
        isinstance(option, dict) and _allows_array(option) for option in schema.get("anyOf", [])
    )


# The subject the examples' sealed values name.
EXAMPLE_SUBJECT = "0e54d752-308c-4ed5-96dc-95509725aa29"


def published_example(cls: type[EventData]) -> dict[str, Any] | None:
    """The event type's example as a subscriber gets it: its personal values in the
    sealed form. The form only: a real sealed value is encrypted with the person's key
    and a random nonce, which a committed document could not show."""
    if cls.example is None:
        return None
    recorded = cls.model_validate(cls.example)
    data: dict[str, Any] = recorded.model_dump(mode="json")
    # Sealed with the key of the person it is about: the record's own, or one it names.
    data_subject = recorded.data_subject(UUID(EXAMPLE_SUBJECT))
    sealed = f"pii:v1:{cls.service}:{data_subject}:example-not-a-ciphertext"
    for name in cls.personal_fields():
        if holds_data(data.get(name)):
            data[name] = sealed
    for value in data.values():
        if isinstance(value, dict):
            for field in value.values():
                if isinstance(field, dict) and field.get("personal") is True and "value" in field:
                    field["value"] = sealed
    return data


def event_json_schema(cls: type[EventData]) -> dict[str, Any]:
    schema: dict[str, Any] = seal_schema(cls.model_json_schema(mode="serialization"))
    schema["$id"] = f"https://crm.dev/events/{cls.type_name}.json"
    schema["title"] = cls.type_name
    schema["description"] = (cls.__doc__ or "").strip() or cls.type_name
    schema["x-personal-fields"] = sorted(cls.personal_fields())
    if (example := published_example(cls)) is not None:
        schema["examples"] = [example]
    return schema


def asyncapi_document(partitions: int = 4) -> dict[str, Any]:
    broker = KafkaBroker(
        "localhost:9092",
        description="Every change to customer data, as CloudEvents on Kafka",
    )
    for service in CATALOG.services():
        for cls in CATALOG.for_service(service):
            broker.publisher(
                events_topic(service),
                title=cls.type_name,
                schema=cls,
                description=(cls.__doc__ or cls.type_name).strip(),
            )
    spec = AsyncAPI(
        broker,
        title="CRM event streams",
        version="1.0.0",
        description=(
            "One topic per service; record key = aggregate id (events of one aggregate stay "
            "in order); at-least-once delivery: deduplicate by ce_id or ce_subject+ce_sequence. "
            "Each topic has a `.dlq` companion for records a consumer could not handle."
        ),
        schema_version="3.0.0",
    )
    document: dict[str, Any] = orjson.loads(spec.to_specification().to_json())
    schemas = document["components"]["schemas"] = seal_schema(document["components"]["schemas"])
    for cls in CATALOG.by_type.values():
        if cls.__name__ in schemas and (example := published_example(cls)) is not None:
            schemas[cls.__name__]["examples"] = [example]
    for channel in document["channels"].values():
        channel["bindings"]["kafka"]["partitions"] = partitions
        channel["bindings"]["kafka"]["topicConfiguration"] = {"cleanup.policy": ["delete"]}
        channel["x-dead-letter-topic"] = dead_letter_topic(channel["address"])
    for message in document["components"]["messages"].values():
        message["headers"] = CLOUDEVENTS_HEADERS
        message["correlationId"] = {"location": "$message.header#/ce_correlationid"}
        message["contentType"] = "application/json"
        message["bindings"] = {
            "kafka": {
                "key": {"type": "string", "format": "uuid", "description": "The aggregate id"},
                "bindingVersion": "0.5.0",
            }
        }
    return document


def _dump(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def rendered_documents() -> dict[str, bytes]:
    """Relative path -> content of every generated contract document."""
    files = {"asyncapi.json": _dump(asyncapi_document())}
    for type_name, cls in sorted(CATALOG.by_type.items()):
        files[f"schemas/{type_name}.json"] = _dump(event_json_schema(cls))
    return files


def write_documents(folder: Path) -> list[Path]:
    written = []
    for relative, content in rendered_documents().items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written
