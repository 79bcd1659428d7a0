"""A year's quote counter: it gives out ``Q-<year>-<sequence>`` numbers, one after the
other, each to one quote.

One aggregate per year, so two drafts at the same moment meet on its version (the group
commit runs them one after the other; two processes, one of them retries). Asked again
for a quote it already numbered (a retried draft), it answers the same number and
records nothing. Its stream grows by one event per quote of the year: quotes are drafted
by people, a few thousand a year, which replays in milliseconds.
"""

from __future__ import annotations

from typing import Self
from uuid import NAMESPACE_URL, UUID, uuid5

from crm_sales.documents.quote import QuoteNumber
from crm_shared.catalog.sales.quotes import QuoteNumberReserved
from crm_shared.domain import Aggregate, applies


def counter_id(year: int) -> UUID:
    # Every process derives the same id, so they share the counter without a lookup.
    return uuid5(NAMESPACE_URL, f"urn:crm:sales:quote-numbers:{year}")


class QuoteNumbers(Aggregate):
    creation_events = (QuoteNumberReserved,)

    year: int
    last: int
    given: dict[UUID, str]

    @classmethod
    def first_of(cls, year: int) -> Self:
        numbers = cls(counter_id(year))
        numbers._begin(year)
        return numbers

    def _begin(self, year: int) -> None:
        self.year, self.last, self.given = year, 0, {}

    def reserve(self, quote_id: UUID) -> str:
        """The quote's number: the one it was given, or the next one."""
        if quote_id in self.given:
            return self.given[quote_id]
        number = QuoteNumber(self.year, self.last + 1)
        self._trigger(
            QuoteNumberReserved(
                year=number.year, sequence=number.sequence, number=str(number), quote_id=quote_id
            )
        )
        return str(number)

    @applies(QuoteNumberReserved)
    def _reserved(self, e: QuoteNumberReserved) -> None:
        if self.version == 0:  # replayed from the store: the first event starts it
            self._begin(e.year)
        self.last = e.sequence
        self.given[e.quote_id] = e.number
