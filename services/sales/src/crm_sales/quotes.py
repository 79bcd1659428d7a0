"""The use cases of quotes, beside those every CRM record has.

Drafting a quote loads its opportunity first (the aggregates do no I/O), prices the deal's
lines, takes the next number from the year's counter (``domain.quote_numbers``), then
runs as every record's creation does (policy, group commit).

A retried draft keeps its number: with an ``Idempotency-Key``, the quote's id is derived
from the key, the counter answers a quote it already numbered with the same number and
records nothing, and the creation replays the first answer. A draft refused before its
number is taken takes none; numbers are still not gap-free (a failure between the two
commits leaves one unused), which a quote, unlike an invoice, may have."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from crm_sales.deals import DealUseCases
from crm_sales.domain.opportunity import Opportunity
from crm_sales.domain.quote import Quote
from crm_sales.domain.quote_numbers import QuoteNumbers, counter_id
from crm_sales.quote_commands import DraftQuote
from crm_sales.quote_view import QuoteView
from crm_shared.auth.policy import Scope, may_create, may_leave_unowned, vet_references
from crm_shared.commands import CommandContext
from crm_shared.domain import Forbidden, NotFound
from crm_shared.events import EventMetadata
from crm_shared.eventstore.group_commit import ConcurrencyConflict, Outcome, UnitOfWork
from crm_shared.records.commands import CreateRecord, RecordCommand
from crm_shared.records.record import UnownedRecordRefused
from crm_shared.records.views import RecordKind

QUOTE = RecordKind(Quote, QuoteView)
# Another process numbering a quote of the same year at the same moment: try again.
NUMBERING_ATTEMPTS = 5


def quote_id_for(idempotency_key: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"urn:crm:sales:quote:{idempotency_key}")


class QuoteUseCases(DealUseCases):
    async def handle(
        self, command: CreateRecord[Any] | RecordCommand[Any], context: CommandContext
    ) -> Outcome:
        if isinstance(command, DraftQuote):
            return await self.draft_quote(command, context)
        return await super().handle(command, context)

    async def draft_quote(self, command: DraftQuote, context: CommandContext) -> Outcome:
        self._check_may_create(command, context)
        # The deal must be one the caller sees (422 naming opportunity_id otherwise).
        refusals = await vet_references(
            context.principal, command.references().values(), self.resolver
        )
        if refusals:
            raise next(iter(refusals.values()))
        deal = await asyncio.to_thread(self.load, Opportunity, command.values["opportunity_id"])
        values = Quote.drafting(deal, command.values, command.today)
        quote_id = command.record_id
        if context.idempotency_key is not None:
            quote_id = quote_id_for(context.idempotency_key)
        number = await self.number_for(quote_id, command.today.year, context.metadata)
        drafted = replace(command, record_id=quote_id, values=values | {"number": number})
        return await super().handle(drafted, context)

    def _check_may_create(self, command: DraftQuote, context: CommandContext) -> None:
        # The creation checks these again; asked first, a refused draft takes no number.
        principal = context.principal
        department = command.department or principal.primary_department
        if command.owner is None and not may_leave_unowned(principal):
            raise UnownedRecordRefused(
                f"role {principal.role} may not create an unowned quote", field="owner"
            )
        if department is not None and not may_create(principal, Scope(command.owner, department)):
            raise Forbidden(f"role {principal.role} may not create quotes in {department}")

    async def number_for(self, quote_id: UUID, year: int, metadata: EventMetadata) -> str:
        """The quote's number from the year's counter (the same one when asked again)."""
        counter = counter_id(year)

        def reserve(unit: UnitOfWork) -> Outcome:
            try:
                numbers = unit.get(QuoteNumbers, counter)
            except NotFound:
                numbers = QuoteNumbers.first_of(year)
                unit.add(numbers)
            number = numbers.reserve(quote_id)
            return Outcome(counter, numbers.version, number.encode())

        for attempt in range(1, NUMBERING_ATTEMPTS + 1):
            try:
                outcome = await self.committer.submit(reserve, touches=counter, metadata=metadata)
            except ConcurrencyConflict:
                if attempt == NUMBERING_ATTEMPTS:
                    raise
                continue
            return outcome.body.decode()
        raise AssertionError("unreachable")
