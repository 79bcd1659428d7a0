"""How a quote is priced, numbered, versioned and moved from draft to an answer."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from crm_sales.documents.quote import (
    DiscountAmount,
    DiscountPercent,
    LineItem,
    Quote,
    QuoteIsInvalid,
    QuoteNumber,
    QuoteStatus,
    QuoteTransitionRefused,
    draft_quote,
)

D = Decimal
OPPORTUNITY = uuid4()


def quote(*items: LineItem, currency: str = "EUR") -> Quote:
    return draft_quote(
        year=2026,
        sequence=123,
        opportunity_id=OPPORTUNITY,
        customer="Ångström AB",
        currency=currency,
        line_items=items or (LineItem("Licence", D(1), D("100.00")),),
    )


def test_a_line_is_quantity_times_unit_price_less_discount_plus_tax() -> None:
    line = quote(
        LineItem("Licence", D(3), D("200.00"), DiscountPercent(D(10)), tax_percent=D(19))
    ).lines[0]
    # 3 x 200 = 600; 10% off = 60; 540 net; 19% of 540 = 102.60
    assert (line.gross, line.discount, line.net, line.tax, line.total) == (
        D("600.00"),
        D("60.00"),
        D("540.00"),
        D("102.60"),
        D("642.60"),
    )


def test_a_discount_amount_comes_off_the_whole_line() -> None:
    line = quote(LineItem("Seat", D(4), D("25.00"), DiscountAmount(D("15.00")))).lines[0]
    assert (line.gross, line.discount, line.net) == (D("100.00"), D("15.00"), D("85.00"))


def test_each_line_is_rounded_half_to_even_to_the_currencys_minor_units() -> None:
    # 0.125 rounds to 0.12 (2 is even) and 0.135 to 0.14 (4 is even).
    lines = quote(
        LineItem("A", D(1), D("0.125")),
        LineItem("B", D(1), D("0.135")),
    ).lines
    assert [line.gross for line in lines] == [D("0.12"), D("0.14")]


def test_tax_is_rounded_per_line_so_printed_lines_add_up_to_the_total() -> None:
    # Three lines of 0.05 tax each at 10% of 0.45 (0.045 -> 0.04): rounding the sum
    # instead (0.135 -> 0.14) would print lines that add to 0.12 under a 0.14 total.
    priced = quote(*(LineItem(f"Item {n}", D(1), D("0.45"), tax_percent=D(10)) for n in range(3)))
    assert [line.tax for line in priced.lines] == [D("0.04")] * 3
    assert priced.totals.tax == D("0.12")


def test_totals_are_the_sums_of_the_lines() -> None:
    totals = quote(
        LineItem("Licence", D(2), D("100.00"), DiscountPercent(D(50)), tax_percent=D(20)),
        LineItem("Training", D(1), D("300.00"), DiscountAmount(D("50.00")), tax_percent=D(0)),
    ).totals
    assert (totals.subtotal, totals.discount, totals.tax, totals.total) == (
        D("500.00"),
        D("150.00"),
        D("20.00"),
        D("370.00"),
    )
    assert totals.currency == "EUR"


def test_a_currency_without_minor_units_rounds_to_whole_units() -> None:
    line = quote(LineItem("Licence", D(3), D("333.5")), currency="JPY").lines[0]
    assert line.total == D("1000") and line.total.as_tuple().exponent == 0


def test_a_currency_with_three_minor_units_keeps_three_decimals() -> None:
    line = quote(LineItem("Licence", D(1), D("1.2345")), currency="KWD").lines[0]
    assert line.total == D("1.234")


def test_an_unknown_currency_code_is_refused_naming_the_field() -> None:
    with pytest.raises(QuoteIsInvalid) as refused:
        quote(currency="euro")
    assert refused.value.field == "currency"


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (LineItem("Licence", D(0), D(1)), "line_items[0].quantity"),
        (LineItem("Licence", D(1), D(-1)), "line_items[0].unit_price"),
        (LineItem("Licence", D(1), D("NaN")), "line_items[0].unit_price"),
        (LineItem("Licence", D(1), D(1), tax_percent=D(-5)), "line_items[0].tax_percent"),
        (LineItem(" ", D(1), D(1)), "line_items[0].product"),
        (
            LineItem("Licence", D(1), D(1), DiscountPercent(D(101))),
            "line_items[0].discount.percent",
        ),
        (LineItem("Licence", D(1), D(10), DiscountAmount(D(11))), "line_items[0].discount.amount"),
        (
            LineItem("Licence", D(1), D(10), DiscountAmount(D("0.001"))),
            "line_items[0].discount.amount",
        ),
    ],
)
def test_a_line_item_that_breaks_a_rule_is_refused_naming_the_field(
    item: LineItem, field: str
) -> None:
    with pytest.raises(QuoteIsInvalid) as refused:
        quote(item)
    assert refused.value.field == field


def test_a_float_is_refused_as_money() -> None:
    with pytest.raises(QuoteIsInvalid) as refused:
        quote(LineItem("Licence", D(1), 0.1))  # type: ignore[arg-type]
    assert refused.value.field == "line_items[0].unit_price"


def test_a_quote_has_at_least_one_line_item() -> None:
    with pytest.raises(QuoteIsInvalid) as refused:
        Quote(QuoteNumber(2026, 1), OPPORTUNITY, "Zoë", "EUR", ())
    assert refused.value.field == "line_items"


def test_a_quote_number_is_the_year_and_a_six_digit_sequence() -> None:
    assert str(quote().number) == "Q-2026-000123"


def test_a_quote_number_reads_back_from_its_text() -> None:
    assert QuoteNumber.parse("Q-2026-000123") == QuoteNumber(2026, 123)


def test_a_sequence_past_six_digits_widens_the_number() -> None:
    assert QuoteNumber.parse(str(QuoteNumber(2026, 1_234_567))) == QuoteNumber(2026, 1_234_567)


@pytest.mark.parametrize("text", ["Q-26-000123", "Q-2026-123", "2026-000123", "Q-2026-00012x"])
def test_text_that_is_not_a_quote_number_is_refused(text: str) -> None:
    with pytest.raises(QuoteIsInvalid):
        QuoteNumber.parse(text)


def test_a_new_quote_is_a_first_version_in_draft() -> None:
    drafted = quote()
    assert (drafted.version, drafted.status) == (1, QuoteStatus.DRAFT)


def test_a_draft_is_sent_then_accepted() -> None:
    assert quote().send().accept().status is QuoteStatus.ACCEPTED


def test_a_sent_quote_can_be_rejected() -> None:
    assert quote().send().reject().status is QuoteStatus.REJECTED


def test_a_draft_cannot_be_accepted_before_it_is_sent() -> None:
    with pytest.raises(QuoteTransitionRefused) as refused:
        quote().accept()
    assert (refused.value.status, refused.value.step) == (QuoteStatus.DRAFT, "accepted")


@pytest.mark.parametrize("answer", ["accept", "reject"])
def test_an_answered_quote_cannot_be_answered_again(answer: str) -> None:
    answered = quote().send().reject()
    with pytest.raises(QuoteTransitionRefused):
        getattr(answered, answer)()


def test_a_sent_quote_cannot_be_sent_again() -> None:
    with pytest.raises(QuoteTransitionRefused):
        quote().send().send()


def test_a_refused_transition_is_a_conflict_with_a_code() -> None:
    with pytest.raises(QuoteTransitionRefused) as refused:
        quote().reject()
    assert refused.value.code == "quote_transition_refused"
    assert "draft" in str(refused.value)


def test_a_revision_keeps_the_number_and_is_the_next_version_in_draft() -> None:
    sent = quote().send()
    revised = sent.revise((LineItem("Licence", D(2), D("90.00")),))
    assert (revised.number, revised.version, revised.status) == (sent.number, 2, QuoteStatus.DRAFT)
    assert revised.totals.total == D("180.00")


def test_a_rejected_quote_can_be_revised() -> None:
    assert quote().send().reject().revise(quote().line_items).version == 2


def test_an_accepted_quote_cannot_be_revised() -> None:
    with pytest.raises(QuoteTransitionRefused):
        quote().send().accept().revise(quote().line_items)


def test_a_draft_is_edited_without_a_new_version() -> None:
    edited = quote().edit((LineItem("Licence", D(5), D("10.00")),))
    assert (edited.version, edited.totals.total) == (1, D("50.00"))


def test_a_sent_quote_cannot_be_edited_in_place() -> None:
    with pytest.raises(QuoteTransitionRefused):
        quote().send().edit(quote().line_items)
