"""Quotes: drafted from an opportunity's line items (or lines given), priced by the quote
document's rules, numbered from the year's counter, changed in place while a draft and
by a new version once the customer has seen it, sent, then accepted (final) or rejected.

Rita (a rep of department "sales") owns Acme's deal: 50 seats at 480.00 EUR less 10 %
and a training day at 1,200.00 EUR. With 19 % tax: seats 21,600.00 net, 4,104.00 tax;
training 1,200.00 net, 228.00 tax; 24,000.00 + 1,200.00 before discounts, 2,400.00 off,
4,332.00 tax, 27,132.00 in all. Today is 2026-11-30."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import orjson

from crm_sales.application import SalesApplication
from crm_sales.documents.quote import QuoteIsInvalid, QuoteTransitionRefused
from crm_sales.domain.quote import (
    LostDealNotQuoted,
    NothingToQuote,
    Quote,
    QuoteExpired,
    ReasonRequired,
    ValidityInThePast,
)
from crm_sales.domain.quote_lines import QuoteItem
from crm_sales.domain.quote_numbers import QuoteNumbers, counter_id
from crm_sales.quote_commands import AcceptQuote, ChangeQuote, DraftQuote, RejectQuote, SendQuote
from crm_sales.quotes import quote_id_for
from crm_shared.auth.policy import UnknownReference
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.sales.opportunities import LineItem, OpportunityLost
from crm_shared.catalog.sales.quotes import (
    QuoteAccepted,
    QuoteChanged,
    QuoteDrafted,
    QuoteLine,
    QuoteNumberReserved,
    QuoteRejected,
    QuoteRevised,
    QuoteSent,
    QuoteTotals,
)
from crm_shared.commands import CommandContext
from crm_shared.domain import NotFound
from crm_shared.events import EventData
from crm_shared.eventstore.group_commit import VersionMismatch
from crm_shared.specs import Specification
from tests.sales.specs.contact_records import NONE_KNOWN
from tests.sales.specs.test_opportunities import DEAL, PIPELINE, new_business, opened

spec = Specification(lambda store: SalesApplication(store, store, contacts=NONE_KNOWN))

D = Decimal
RITA = Principal("rita", Role.SALES_REP, ("sales",))
SUPPORT = Principal("sam", Role.MANAGER, ("support",))
TODAY = date(2026, 11, 30)
VALID_UNTIL = date(2026, 12, 30)  # 30 days on
QUOTE = uuid4()
COUNTER = counter_id(2026)
SEATS, TRAINING = uuid4(), uuid4()

DEAL_LINES = [
    LineItem(line_id=SEATS, name="CRM seats", quantity=D(50), unit_price=D("480.00"),
             discount_percent=D(10)),
    LineItem(line_id=TRAINING, name="Training day", quantity=D(1), unit_price=D("1200.00")),
]  # fmt: skip
SEATS_19 = QuoteLine(
    line_id=SEATS, name="CRM seats", quantity=D(50), unit_price=D("480.00"),
    discount_percent=D(10), tax_percent=D(19), net=D("21600.00"), tax=D("4104.00"),
    total=D("25704.00"),
)  # fmt: skip
TRAINING_19 = QuoteLine(
    line_id=TRAINING, name="Training day", quantity=D(1), unit_price=D("1200.00"),
    tax_percent=D(19), net=D("1200.00"), tax=D("228.00"), total=D("1428.00"),
)  # fmt: skip
TOTALS_19 = QuoteTotals(
    subtotal=D("25200.00"), discount=D("2400.00"), tax=D("4332.00"), total=D("27132.00")
)


def deal(*events: EventData, **fields: Any) -> dict[UUID, list[EventData]]:
    return {
        PIPELINE: [new_business],
        DEAL: [opened(**({"amount": D("22800.00"), "line_items": DEAL_LINES} | fields)), *events],
    }


def drafted(**fields: Any) -> QuoteDrafted:
    values: dict[str, Any] = {
        "number": "Q-2026-000001",
        "revision": 1,
        "opportunity_id": DEAL,
        "account_id": None,
        "primary_contact_id": None,
        "customer": "Acme GmbH",
        "currency": "EUR",
        "lines": [SEATS_19, TRAINING_19],
        "totals": TOTALS_19,
        "valid_until": VALID_UNTIL,
        "owner": "rita",
        "department": "sales",
    }
    return QuoteDrafted(**(values | fields))


def reserved(sequence: int = 1, quote_id: UUID = QUOTE) -> QuoteNumberReserved:
    return QuoteNumberReserved(
        year=2026, sequence=sequence, number=f"Q-2026-{sequence:06d}", quote_id=quote_id
    )


def a_quote(*events: EventData) -> dict[UUID, list[EventData]]:
    return deal() | {COUNTER: [reserved()], QUOTE: [drafted(), *events]}


def drafting(**values: Any) -> DraftQuote:
    given: dict[str, Any] = {"opportunity_id": DEAL, "customer": "Acme GmbH", "tax_percent": D(19)}
    return DraftQuote(record_id=QUOTE, values=given | values, owner="rita", today=TODAY)


def item(name: str, quantity: str, unit_price: str, tax: str = "0") -> QuoteItem:
    return QuoteItem(uuid4(), None, name, D(quantity), D(unit_price), D(0), D(tax))


def priced(line: QuoteItem, net: str, tax: str, total: str) -> QuoteLine:
    fields = dataclasses.asdict(line)
    return QuoteLine(**fields, net=D(net), tax=D(tax), total=D(total))


def change(**changes: Any) -> ChangeQuote:
    return ChangeQuote(record_id=QUOTE, changes=changes, today=TODAY)


# --- drafting ----------------------------------------------------------------------------


async def test_a_quote_copies_the_deals_line_items_with_the_tax_rate_and_is_numbered() -> None:
    await spec.given(deal()).when(drafting(), by=RITA).then(reserved(), drafted())


async def test_the_next_quote_of_the_year_takes_the_next_number() -> None:
    earlier = {COUNTER: [reserved(1, uuid4()), reserved(2, uuid4())]}
    await (
        spec.given(deal() | earlier)
        .when(drafting(), by=RITA)
        .then(reserved(3), drafted(number="Q-2026-000003"))
    )


async def test_a_retried_draft_keeps_its_number_and_records_nothing_more() -> None:
    given = spec.given(deal())
    retry = dataclasses.replace(CommandContext.of(RITA), idempotency_key="rita|POST|q|1")
    first = await given.application.handle(drafting(), retry)
    again = await given.application.handle(drafting(record_id=uuid4()), retry)
    assert again.body == first.body and again.replayed
    quote_id = quote_id_for("rita|POST|q|1")
    assert [e.data for e in given.store.recorded] == [
        reserved(1, quote_id),
        drafted(),
    ]


async def test_lines_given_replace_the_deals() -> None:
    consulting = item("Consulting", "3", "1000.00", "7")
    await (
        spec.given(deal())
        .when(drafting(line_items=[consulting]), by=RITA)
        .then(
            reserved(),
            drafted(
                lines=[priced(consulting, "3000.00", "210.00", "3210.00")],
                totals=QuoteTotals(
                    subtotal=D("3000.00"), discount=D("0.00"), tax=D("210.00"), total=D("3210.00")
                ),
            ),
        )
    )


async def test_a_deal_without_line_items_is_quoted_only_with_lines_given() -> None:
    await (
        spec.given(deal(line_items=[]))
        .when(drafting(), by=RITA)
        .then_refused(NothingToQuote, field="line_items")
    )


async def test_a_line_refused_by_the_pricing_rules_is_named_as_the_request_names_it() -> None:
    nameless = item(" ", "1", "10.00")
    await (
        spec.given(deal())
        .when(drafting(line_items=[item("Seats", "1", "1"), nameless]), by=RITA)
        .then_refused(QuoteIsInvalid, field="line_items[1].name")
    )


async def test_a_deal_out_of_the_callers_sight_is_refused_naming_it() -> None:
    await (
        spec.given(deal())
        .when(dataclasses.replace(drafting(), owner="sam"), by=SUPPORT)
        .then_refused(UnknownReference, field="opportunity_id")
    )


async def test_a_lost_deal_is_not_quoted() -> None:
    lost = OpportunityLost(
        from_stage="prospecting", stage="closed_lost", reason="budget", closed_on=TODAY
    )
    await spec.given(deal(lost)).when(drafting(), by=RITA).then_refused(LostDealNotQuoted)


async def test_a_quote_valid_until_a_past_day_is_refused() -> None:
    await (
        spec.given(deal())
        .when(drafting(valid_until=date(2026, 11, 29)), by=RITA)
        .then_refused(ValidityInThePast, field="valid_until")
    )


# --- changing: in place while a draft, a new version once seen -------------------------


async def test_a_draft_changes_in_place_with_its_new_totals() -> None:
    seats = item("Seats", "2", "100.00", "20")
    await (
        spec.given(a_quote())
        .when(change(line_items=[seats], valid_until=date(2027, 1, 15)), by=RITA)
        .then(
            QuoteChanged(
                lines=[priced(seats, "200.00", "40.00", "240.00")],
                totals=QuoteTotals(
                    subtotal=D("200.00"), discount=D("0.00"), tax=D("40.00"), total=D("240.00")
                ),
                valid_until=date(2027, 1, 15),
            )
        )
    )


async def test_a_tax_rate_alone_applies_to_every_current_line() -> None:
    seats_7 = SEATS_19.model_copy(
        update={"tax_percent": D(7), "tax": D("1512.00"), "total": D("23112.00")}
    )
    training_7 = TRAINING_19.model_copy(
        update={"tax_percent": D(7), "tax": D("84.00"), "total": D("1284.00")}
    )
    await (
        spec.given(a_quote())
        .when(change(tax_percent=D(7)), by=RITA)
        .then(
            QuoteChanged(
                lines=[seats_7, training_7],
                totals=TOTALS_19.model_copy(update={"tax": D("1596.00"), "total": D("24396.00")}),
            )
        )
    )


async def test_a_sent_quote_changed_becomes_its_next_version_in_draft() -> None:
    await (
        spec.given(a_quote(QuoteSent(revision=1, sent_on=TODAY)))
        .when(change(valid_until=date(2027, 1, 15)), by=RITA)
        .then(
            QuoteRevised(
                revision=2,
                lines=[SEATS_19, TRAINING_19],
                totals=TOTALS_19,
                valid_until=date(2027, 1, 15),
            )
        )
    )


async def test_a_change_that_changes_nothing_makes_no_new_version() -> None:
    await (
        spec.given(a_quote(QuoteSent(revision=1, sent_on=TODAY)))
        .when(change(valid_until=VALID_UNTIL), by=RITA)
        .then()
    )


async def test_an_accepted_quote_refuses_changes() -> None:
    sent, accepted = (
        QuoteSent(revision=1, sent_on=TODAY),
        QuoteAccepted(revision=1, accepted_on=TODAY),
    )
    await (
        spec.given(a_quote(sent, accepted))
        .when(change(valid_until=date(2027, 1, 15)), by=RITA)
        .then_refused(QuoteTransitionRefused)
    )


async def test_a_change_on_a_stale_version_is_refused() -> None:
    await (
        spec.given(a_quote())
        .when(change(valid_until=date(2027, 1, 15)), by=RITA, if_match=0)
        .then_refused(VersionMismatch)
    )


# --- sent, accepted, rejected ------------------------------------------------------------


async def test_a_draft_is_sent() -> None:
    await (
        spec.given(a_quote())
        .when(SendQuote(record_id=QUOTE, today=TODAY), by=RITA)
        .then(QuoteSent(revision=1, sent_on=TODAY))
    )


async def test_a_sent_quote_is_accepted() -> None:
    await (
        spec.given(a_quote(QuoteSent(revision=1, sent_on=TODAY)))
        .when(AcceptQuote(record_id=QUOTE, today=TODAY), by=RITA)
        .then(QuoteAccepted(revision=1, accepted_on=TODAY))
    )


async def test_a_draft_cannot_be_accepted() -> None:
    await (
        spec.given(a_quote())
        .when(AcceptQuote(record_id=QUOTE, today=TODAY), by=RITA)
        .then_refused(QuoteTransitionRefused)
    )


async def test_a_quote_past_its_last_valid_day_cannot_be_accepted() -> None:
    await (
        spec.given(a_quote(QuoteSent(revision=1, sent_on=TODAY)))
        .when(AcceptQuote(record_id=QUOTE, today=date(2026, 12, 31)), by=RITA)
        .then_refused(QuoteExpired)
    )


async def test_a_sent_quote_is_rejected_with_the_customers_reason() -> None:
    await (
        spec.given(a_quote(QuoteSent(revision=1, sent_on=TODAY)))
        .when(RejectQuote(record_id=QUOTE, reason="price too high", today=TODAY), by=RITA)
        .then(QuoteRejected(revision=1, reason="price too high", rejected_on=TODAY))
    )


async def test_a_rejection_says_why() -> None:
    await (
        spec.given(a_quote(QuoteSent(revision=1, sent_on=TODAY)))
        .when(RejectQuote(record_id=QUOTE, reason="  ", today=TODAY), by=RITA)
        .then_refused(ReasonRequired, field="reason")
    )


async def test_a_rejected_quote_changed_is_its_next_version() -> None:
    rejected = QuoteRejected(revision=1, reason="price too high", rejected_on=TODAY)
    seats = item("Seats", "2", "100.00")
    await (
        spec.given(a_quote(QuoteSent(revision=1, sent_on=TODAY), rejected))
        .when(change(line_items=[seats]), by=RITA)
        .then(
            QuoteRevised(
                revision=2,
                lines=[priced(seats, "200.00", "0.00", "200.00")],
                totals=QuoteTotals(
                    subtotal=D("200.00"), discount=D("0.00"), tax=D("0.00"), total=D("200.00")
                ),
                valid_until=VALID_UNTIL,
            )
        )
    )


async def test_another_departments_quote_is_not_found() -> None:
    await (
        spec.given(a_quote())
        .when(SendQuote(record_id=QUOTE, today=TODAY), by=SUPPORT)
        .then_refused(NotFound)
    )


def test_the_view_shows_the_number_version_status_and_totals() -> None:
    given = spec.given(a_quote(QuoteSent(revision=1, sent_on=TODAY)))
    application: SalesApplication = given.application
    view = orjson.loads(application.read(Quote, QUOTE, RITA).body)
    assert (view["number"], view["revision"], view["status"]) == ("Q-2026-000001", 1, "sent")
    assert view["totals"]["total"] == "27132.00"


# --- the counter ---------------------------------------------------------------------------


def test_the_counter_answers_a_quote_it_numbered_with_the_same_number() -> None:
    numbers = QuoteNumbers.first_of(2026)
    first, other = uuid4(), uuid4()
    assert numbers.reserve(first) == "Q-2026-000001"
    assert numbers.reserve(other) == "Q-2026-000002"
    assert numbers.reserve(first) == "Q-2026-000001"
    assert len(numbers.collect_events()) == 2
