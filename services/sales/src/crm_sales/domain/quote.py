"""A quote as a CRM record: an opportunity's line items priced, numbered and versioned,
moving draft -> sent -> accepted or rejected.

The rules of the steps are the quote document's (``documents.quote``): a draft changes in
place; a change to a sent or rejected quote is a new version of the same number, drafted
afresh; an accepted quote is final (409). This record adds what a document does not know:
the days things happened, the reason a customer gave, and a quote that has run out
(``valid_until`` passed) cannot be accepted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from crm_sales.documents import quote as document
from crm_sales.domain.opportunity import Opportunity
from crm_sales.domain.opportunity_states import DealStatus
from crm_sales.domain.quote_lines import QuoteItem, document_lines, priced
from crm_shared.catalog.sales.quotes import (
    QuoteAccepted,
    QuoteChanged,
    QuoteDrafted,
    QuoteLine,
    QuoteRejected,
    QuoteRevised,
    QuoteSent,
    QuoteTotals,
)
from crm_shared.domain import Conflict, Invalid, applies
from crm_shared.records.record import CrmRecord, RecordEvents

# How long a quote holds when the rep does not say.
DEFAULT_VALIDITY = timedelta(days=30)
# What a quote prints for a customer whose name was erased with them.
ERASED = "(erased)"


class QuoteExpired(Conflict):
    """An offer ends on its last valid day: a new version may extend it."""

    code = "quote_expired"


class ReasonRequired(Invalid):
    code = "reason_required"


class ValidityInThePast(Invalid):
    code = "valid_until_in_the_past"


class LostDealNotQuoted(Conflict):
    """A lost deal is settled: there is nothing left to offer."""

    code = "opportunity_lost"


class NothingToQuote(Invalid):
    code = "no_line_items"


def check_valid_until(valid_until: date, today: date) -> None:
    if valid_until < today:
        raise ValidityInThePast("a quote is valid until today or later", field="valid_until")


class Quote(CrmRecord):
    creation_events = (QuoteDrafted,)
    events = RecordEvents(updated=QuoteChanged)
    reference_fields = {"opportunity_id": "opportunity"}

    number: str
    revision: int
    opportunity_id: UUID
    account_id: UUID | None
    primary_contact_id: UUID | None
    customer: str | None
    currency: str
    lines: list[QuoteLine]
    totals: QuoteTotals
    valid_until: date
    status: document.QuoteStatus
    sent_on: date | None
    accepted_on: date | None
    rejected_on: date | None
    rejection_reason: str | None

    @staticmethod
    def drafting(deal: Opportunity, values: Mapping[str, Any], today: date) -> dict[str, Any]:
        """The values of the event that drafts a quote of ``deal`` (its number aside): the
        deal's lines with the tax rate given, or the lines given, priced in its currency."""
        if deal.status is DealStatus.LOST:
            raise LostDealNotQuoted(f"opportunity {deal.id} is lost")
        items: Sequence[QuoteItem] | None = values.get("line_items")
        if items is None:
            if not deal.line_items:
                raise NothingToQuote(
                    "the opportunity has no line items: give the quote's", field="line_items"
                )
            tax = values.get("tax_percent") or Decimal(0)
            items = [QuoteItem.of_deal(item, tax) for item in deal.line_items]
        valid_until = values.get("valid_until") or today + DEFAULT_VALIDITY
        check_valid_until(valid_until, today)
        lines, totals = priced(items, deal.currency)
        return {
            "revision": 1,
            "opportunity_id": deal.id,
            "account_id": deal.account_id,
            "primary_contact_id": deal.primary_contact_id,
            "customer": values["customer"],
            "currency": deal.currency,
            "lines": lines,
            "totals": totals,
            "valid_until": valid_until,
        }

    @applies(QuoteDrafted)
    def _drafted(self, e: QuoteDrafted) -> None:
        self._start_record(e)
        self.status = document.QuoteStatus.DRAFT
        self.sent_on = self.accepted_on = self.rejected_on = self.rejection_reason = None

    def as_document(self) -> document.Quote:
        """The quote as the document rules (and the PDF) see it."""
        return document.Quote(
            number=document.QuoteNumber.parse(self.number),
            opportunity_id=self.opportunity_id,
            customer=self.customer or ERASED,
            currency=self.currency,
            line_items=document_lines([QuoteItem.of_line(line) for line in self.lines]),
            version=self.revision,
            status=self.status,
        )

    # --- changing it: in place while a draft, else a new version ----------------------

    def change(self, changes: Mapping[str, Any], today: date) -> None:
        """New ``line_items`` (priced afresh), a ``tax_percent`` for every current line, or
        ``valid_until``; refused as a whole."""
        items: Sequence[QuoteItem] | None = changes.get("line_items")
        tax: Decimal | None = changes.get("tax_percent")
        if items is None and tax is not None:
            items = [replace(QuoteItem.of_line(line), tax_percent=tax) for line in self.lines]
        valid_until: date | None = changes.get("valid_until")
        if valid_until is not None:
            check_valid_until(valid_until, today)
        lines, totals = (self.lines, self.totals)
        if items is not None:
            lines, totals = priced(items, self.currency)
        valid_until = valid_until or self.valid_until
        if (lines, valid_until) == (self.lines, self.valid_until):
            return  # nothing changes: no new version either
        if self.status is document.QuoteStatus.DRAFT:
            self.update({"lines": lines, "totals": totals, "valid_until": valid_until})
            return
        # The document's rule: a sent or rejected quote is revised, an accepted one refuses.
        quote = self.as_document()
        revised = quote.revise(quote.line_items)
        self._trigger(
            QuoteRevised(
                revision=revised.version, lines=lines, totals=totals, valid_until=valid_until
            )
        )

    @applies(QuoteRevised)
    def _revised(self, e: QuoteRevised) -> None:
        self.revision, self.lines, self.totals = e.revision, list(e.lines), e.totals
        self.valid_until, self.status = e.valid_until, document.QuoteStatus.DRAFT
        self.sent_on = self.rejected_on = self.rejection_reason = None

    # --- its steps -----------------------------------------------------------------------

    def send(self, on: date) -> None:
        self.as_document().send()
        self._trigger(QuoteSent(revision=self.revision, sent_on=on))

    @applies(QuoteSent)
    def _sent(self, e: QuoteSent) -> None:
        self.status, self.sent_on = document.QuoteStatus.SENT, e.sent_on

    def accept(self, on: date) -> None:
        self.as_document().accept()
        if on > self.valid_until:
            raise QuoteExpired(f"quote {self.number} was valid until {self.valid_until}")
        self._trigger(QuoteAccepted(revision=self.revision, accepted_on=on))

    @applies(QuoteAccepted)
    def _accepted(self, e: QuoteAccepted) -> None:
        self.status, self.accepted_on = document.QuoteStatus.ACCEPTED, e.accepted_on

    def reject(self, reason: str, on: date) -> None:
        self.as_document().reject()
        if not reason.strip():
            raise ReasonRequired("say why the customer declined", field="reason")
        self._trigger(QuoteRejected(revision=self.revision, reason=reason, rejected_on=on))

    @applies(QuoteRejected)
    def _rejected(self, e: QuoteRejected) -> None:
        self.status, self.rejected_on = document.QuoteStatus.REJECTED, e.rejected_on
        self.rejection_reason = e.reason
