"""CPU per registration of storing it as an event and reading it back, in process (no I/O):
what sealing personal data costs, beside request validation and making a data key."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

from bench.bodies import BODIES, filled
from crm_shared.events import DomainEvent
from crm_shared.eventstore.mapper import CatalogMapper
from crm_shared.master_key import MasterKey
from crm_shared.privacy.cipher import (
    PREFIX,
    needs_sealing,
    new_data_key,
    reveal,
    seal,
    sealed_data_subjects,
)
from crm_shared.privacy.keyring import DataKeyring


def per_call_us(work: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - started) / calls * 1e6


def round_trip(mapper: CatalogMapper, event: DomainEvent) -> DomainEvent:
    return mapper.to_domain_event(mapper.to_stored_event(event))


def seal_and_open(keyring: DataKeyring, event: DomainEvent, data: dict[str, Any]) -> dict[str, Any]:
    """The sealing part of ``round_trip`` (given the event's data already dumped), as
    ``CatalogMapper`` does it."""
    personal = event.data.personal_fields()
    if needs_sealing(data, personal):
        data_subject = event.data.data_subject(event.originator_id)
        data = seal(
            data,
            personal,
            key=keyring.sealing_key(data_subject),
            service=keyring.service,
            data_subject=data_subject,
        )
    data_subjects = sealed_data_subjects(data, personal)
    return reveal(data, personal, keyring.lookup(data_subjects)) if data_subjects else data


def bench_sealing_in_process(calls: int) -> dict[str, Any]:
    """CPU per registration of ``CatalogMapper`` storing it and reading it back (with the
    sealing part on its own), for each body of the HTTP comparison; beside it what else
    differs between the two: a data key per new contact, and validating emails and phones."""
    from uuid import uuid4

    from crm_contacts.api.schemas import RegisterContact
    from crm_shared.catalog.contacts import ContactRegistered
    from crm_shared.events import EventMetadata

    data_subject = uuid4()
    keyring = DataKeyring("contacts", "contacts", MasterKey(os.urandom(32)))
    new_keys, _ = keyring.prepare_sync({data_subject})
    keyring.stored(new_keys, [])
    mapper = CatalogMapper(keyring)
    figures: dict[str, Any] = {
        "events": calls,
        "sealed_values": {},
        "mapper_us": {},
        "seal_open_us": {},
        "validation_us": {},
    }
    for label, template in BODIES.items():
        body = partial(filled, template)
        data = ContactRegistered.model_validate({**orjson.loads(body(1)), "department": "sales"})
        event = DomainEvent(
            originator_id=data_subject,
            originator_version=1,
            data=data,
            metadata=EventMetadata(actor="user:bench"),
        )
        if round_trip(mapper, event) != event:
            raise RuntimeError(f"the {label} registration does not read back as itself")
        # Counted, not assumed: what the mapper seals decides what is being compared.
        state = mapper.to_stored_event(event).state
        figures["sealed_values"][label] = state.count(PREFIX.encode())
        figures["mapper_us"][label] = per_call_us(partial(round_trip, mapper, event), calls)
        dumped = event.data.model_dump(mode="json")
        figures["seal_open_us"][label] = per_call_us(
            partial(seal_and_open, keyring, event, dumped), calls
        )
        figures["validation_us"][label] = per_call_us(
            partial(RegisterContact.model_validate_json, body(1)), calls
        )
    figures["new_data_key_us"] = per_call_us(lambda: keyring.wrapper.wrap(new_data_key()), calls)
    return figures


def print_sealing_in_process(figures: dict[str, Any]) -> None:
    print(f"  {'µs per registration':<36} {'personal':>9} {'not personal':>13}")
    rows = (
        ("values sealed (count)", "sealed_values"),
        ("store + read back (CatalogMapper)", "mapper_us"),
        ("  of which seal + open", "seal_open_us"),
        # Not sealing, but part of the HTTP difference: the personal body's emails, phones.
        ("request validation (RegisterContact)", "validation_us"),
    )
    for name, key in rows:
        personal, plain = figures[key]["personal"], figures[key]["not_personal"]
        print(f"  {name:<36} {personal:9,.1f} {plain:13,.1f}", flush=True)
    print(f"  {'new data key (generate + wrap)':<36} {figures['new_data_key_us']:9.1f}", flush=True)
