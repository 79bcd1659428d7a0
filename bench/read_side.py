"""The read side's in-memory cost per event: decoding a record through the catalog
(envelope, upcasting, opening sealed values with cached keys, validating) and folding it
into the customer 360 (documents, timeline entry, JSON). No broker, no database: the
part of a rebuild that is ours in Python.

    python -m bench.read_side [--contacts 5000] [--rounds 7] [--batch 2000]

The events are the rebuild's mix (``python -m bench``): per contact a registration
(name and email sealed), a job-title change and two interactions (subject sealed).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson
from aiokafka import ConsumerRecord

from crm_projections.customer360 import documents
from crm_projections.customer360.projection import Customer360Projection, _json, _text
from crm_shared.catalog import CATALOG
from crm_shared.catalog.contacts import (
    ContactInteractionLogged,
    ContactRegistered,
    ContactUpdated,
)
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.messaging.cloudevents import encode
from crm_shared.messaging.decoding import EventDecoder
from crm_shared.privacy.cipher import needs_sealing, new_data_key, seal
from crm_shared.privacy.key_client import DataKeyClient
from crm_shared.values import RECORDED, Channel, Direction, Email


def history(n: int) -> list[EventData]:
    def interaction() -> ContactInteractionLogged:
        return ContactInteractionLogged(
            interaction_id=uuid4(),
            channel=Channel.EMAIL,
            direction=Direction.INBOUND,
            subject="Hello",
            occurred_at=datetime.now(UTC),
            by="bench",
        )

    return [
        ContactRegistered(
            first_name=f"R{n}",
            last_name="Rebuild",
            department="sales",
            emails=[Email(address=f"r{n}@example.com")],
            tags=["rebuild"],
        ),
        ContactUpdated(job_title="Engineer"),
        interaction(),
        interaction(),
    ]


def records(contacts: int) -> tuple[list[Any], dict[tuple[str, UUID], bytes]]:
    keys: dict[tuple[str, UUID], bytes] = {}
    out: list[Any] = []
    for n in range(contacts):
        contact, key = uuid4(), new_data_key()
        keys[("contacts", contact)] = key
        for version, data in enumerate(history(n), start=1):
            json = data.model_dump(mode="json")
            if needs_sealing(json, data.personal_fields()):
                json = seal(
                    json, data.personal_fields(), key=key, service="contacts", data_subject=contact
                )
            state = {"id": str(uuid4()), "time": datetime.now(UTC).isoformat(), "data": json}
            record = encode(
                source="/crm/contacts",
                type_name=data.type_name,
                aggregate_id=contact,
                version=version,
                state=orjson.dumps(state | {"actor": "user:bench"}),
            )
            out.append(
                ConsumerRecord(
                    "crm.contacts.events",
                    0,
                    len(out),
                    0,
                    0,
                    record.key,
                    record.value,
                    None,
                    len(record.key),
                    len(record.value),
                    record.headers,
                )
            )
    return out, keys


def fold(events: list[ReceivedEvent[EventData]]) -> None:
    docs: dict[UUID, dict[str, Any]] = {}
    for event in events:
        doc = documents.apply_contact_event(docs.get(event.aggregate_id), event)
        assert doc is not None
        docs[event.aggregate_id] = doc
        _json(documents.timeline_entry(event))
    for doc in docs.values():
        _json(doc), _text(documents.display_name(doc)), _text(documents.search_text(doc))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=2000, help="records per batch")
    args = parser.parse_args()
    batch, keys = records(args.contacts)
    gc.freeze()  # the records are the setup: not what a collection during decoding walks
    client = DataKeyClient(lambda _: "http://unused.invalid", dict, max_keys=len(keys) * 2)
    client._keys.update(keys)  # as after the first batch: every key cached
    decoder = EventDecoder(CATALOG, Customer360Projection.handles, client)
    best: dict[str, float] = {}
    batches = [batch[i : i + args.batch] for i in range(0, len(batch), args.batch)]
    for _ in range(args.rounds):
        gc.collect()
        spent = dict.fromkeys(
            ("decode (all of it)", "  of which validation", "fold into the 360"), 0.0
        )
        for records_ in batches:
            started = time.process_time()
            decoded = await decoder.decode(records_)
            decoded_at = time.process_time()
            events = [e for e in decoded.events if isinstance(e, ReceivedEvent)]
            assert len(events) == len(records_) and not decoded.poison
            # Validation alone, over the opened data (part of decoding above).
            opened = [e.data.model_dump(mode="json") for e in events]
            validating = time.process_time()
            for event, data in zip(events, opened, strict=True):
                type(event.data).model_validate(data, context=RECORDED)
            validated = time.process_time()
            fold(events)
            folded = time.process_time()
            spent["decode (all of it)"] += decoded_at - started
            spent["  of which validation"] += validated - validating
            spent["fold into the 360"] += folded - validated
        for name, seconds in spent.items():
            best[name] = min(best.get(name, float("inf")), seconds)
    await client.close()
    print(f"{len(batch)} events, best of {args.rounds} rounds, per event:")
    for name, seconds in best.items():
        print(f"  {name:<24} {seconds / len(batch) * 1e6:6.1f} us")


if __name__ == "__main__":
    asyncio.run(main())
