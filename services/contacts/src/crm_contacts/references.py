"""Which fields of contacts and accounts point at other records, and where the contacts
service finds those records (its own event store) for the shared policy to judge."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from crm_contacts.domain.account import Account
from crm_contacts.domain.record import CrmRecord
from crm_shared.auth.policy import Reference, Referenced, Scope
from crm_shared.domain import NotFound
from crm_shared.eventstore.application import EventSourcedApplication

# The kinds of record a reference may name, by the name the policy's answers use.
KINDS: dict[str, type[CrmRecord]] = {"account": Account}

# The fields of contacts and accounts that hold a reference, and the kind each names: a
# contact's company (account_id), an account's parent company (parent_account_id).
REFERENCE_FIELDS: dict[str, str] = {"account_id": "account", "parent_account_id": "account"}


def references(values: Mapping[str, Any]) -> dict[str, Reference]:
    """The references a command's values make, by the record's field that holds each (a
    null makes none: clearing a reference is always allowed)."""
    return {
        name: Reference(field=f"body.{name}", kind=kind, target=values[name])
        for name, kind in REFERENCE_FIELDS.items()
        if values.get(name) is not None
    }


class RecordsInStore:
    """Finds referenced records in the contacts event store (the policy's resolver)."""

    def __init__(self, store: EventSourcedApplication) -> None:
        self.store = store

    async def locate(self, reference: Reference) -> Referenced | None:
        cls = KINDS[reference.kind]
        try:
            record = await asyncio.to_thread(self.store.load, cls, reference.target)
        except NotFound:  # no such id, or the id of another kind of record
            return None
        return Referenced(Scope(record.owner, record.department), archived=record.archived)
