"""The use cases of products and price books: those of every CRM record, kept by managers
and admins (reps read the catalogue of their departments, and sell from it).

A product's code and the standard price book are unique by their ids; creating a second
answers that the code (or the standard book) is taken, rather than the event store's
bare conflict. A price book's entries name products the caller may see."""

from __future__ import annotations

import asyncio
from typing import Any

from crm_sales.catalogue.commands import CreateProduct, DefinePriceBook
from crm_sales.catalogue.views import PRICE_BOOK, PRODUCT
from crm_sales.domain.price_book import StandardPriceBookExists
from crm_sales.domain.product import ProductCodeTaken
from crm_shared.auth.policy import Reference, ReferenceResolver, vet_references
from crm_shared.auth.principal import Principal, Role
from crm_shared.commands import CommandContext
from crm_shared.domain import Forbidden
from crm_shared.eventstore.group_commit import Outcome
from crm_shared.records.application import Committer, RecordedEvents, RecordsApplication
from crm_shared.records.commands import ChangeRecord, CreateRecord, RecordCommand

KEEPERS = frozenset({Role.ADMIN, Role.MANAGER})


class Catalogue(RecordsApplication):
    def __init__(
        self,
        events: RecordedEvents,
        committer: Committer,
        resolver: ReferenceResolver | None = None,
    ) -> None:
        super().__init__(events, committer, (PRODUCT, PRICE_BOOK), resolver)

    async def handle(
        self, command: CreateRecord[Any] | RecordCommand[Any], context: CommandContext
    ) -> Outcome:
        principal = context.principal
        if isinstance(command, RecordCommand):
            # Out of sight stays a 404, as for every record: sight before the role.
            await asyncio.to_thread(self.get, command.record_type, command.record_id, principal)
        _check_keeper(principal)
        values = (
            command.values
            if isinstance(command, CreateRecord)
            else command.changes
            if isinstance(command, ChangeRecord)
            else {}
        )
        await self._vet_entries(principal, values.get("entries") or [])
        if isinstance(command, CreateRecord) and context.idempotency_key is None:
            # With a key, a retry must reach the committer, which answers it as the first time.
            await self._check_unique(command)
        return await super().handle(command, context)

    async def _check_unique(self, command: CreateRecord[Any]) -> None:
        if not await asyncio.to_thread(self.events.events_of, command.record_id):
            return
        if isinstance(command, CreateProduct):
            raise ProductCodeTaken(f"another product has the code {command.values['code']}")
        if isinstance(command, DefinePriceBook):
            raise StandardPriceBookExists("there is a standard price book already")

    async def _vet_entries(self, principal: Principal, entries: list[Any]) -> None:
        made = [
            Reference(field=f"entries.{index}.product_id", kind="product", target=e.product_id)
            for index, e in enumerate(entries)
        ]
        refusals = await vet_references(principal, made, self.resolver)
        if refusals:
            raise next(iter(refusals.values()))


def _check_keeper(principal: Principal) -> None:
    if principal.role not in KEEPERS:
        raise Forbidden(
            f"role {principal.role} may not change the catalogue: managers and admins keep it"
        )
