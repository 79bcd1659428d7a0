"""A quote renders to a real PDF that a PDF reader opens and reads back."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from uuid import uuid4

import pypdf

from crm_sales.documents.quote import (
    DiscountAmount,
    DiscountPercent,
    LineItem,
    Quote,
    draft_quote,
)
from crm_sales.documents.quote_pdf import render_quote_pdf

D = Decimal
LINES = (
    LineItem("Licence «Pro»", D(3), D("1200.00"), DiscountPercent(D(10)), tax_percent=D(19)),
    LineItem("Training day", D("2.5"), D("800.00"), DiscountAmount(D("100.00")), tax_percent=D(7)),
)


def quote(customer: str = "Ångström AB", lines: tuple[LineItem, ...] = LINES) -> Quote:
    return draft_quote(
        year=2026,
        sequence=123,
        opportunity_id=uuid4(),
        customer=customer,
        currency="EUR",
        line_items=lines,
    )


def pdf(of: Quote) -> bytes:
    return render_quote_pdf(
        of, seller="Acme CRM GmbH", issued_on=date(2026, 11, 30), valid_until=date(2026, 12, 31)
    )


def text(document: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(document))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_output_is_a_pdf_a_reader_opens() -> None:
    document = pdf(quote())
    assert document.startswith(b"%PDF-")
    assert len(pypdf.PdfReader(io.BytesIO(document)).pages) == 1


def test_the_pdf_shows_the_quote_number_and_version() -> None:
    revised = quote().send().revise(LINES)
    shown = text(pdf(revised))
    assert "Quote Q-2026-000123" in shown
    assert "Version 2" in shown


def test_the_pdf_shows_a_customer_name_beyond_latin_1_as_written() -> None:
    customer = "Zoë Ångström, Łukasz Wałęsa, Ődön Țiriac, Жанна Αλέξης"
    assert customer in text(pdf(quote(customer)))


def test_the_pdf_embeds_its_own_unicode_font() -> None:
    reader = pypdf.PdfReader(io.BytesIO(pdf(quote("Łukasz"))))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    descriptors = [font.get_object()["/FontDescriptor"].get_object() for font in fonts.values()]
    assert [d["/FontName"].split("+")[-1] for d in descriptors] == ["NotoSans-Regular"]
    assert all("/FontFile2" in d for d in descriptors)  # the TrueType program is inside


def test_the_pdf_shows_every_line_item_with_its_amount() -> None:
    shown = text(pdf(quote()))
    assert "Licence «Pro»" in shown and "3,855.60 EUR" in shown
    assert "Training day" in shown and "2,033.00 EUR" in shown


def test_the_pdf_shows_the_totals() -> None:
    shown = text(pdf(quote()))
    assert "5,600.00 EUR" in shown  # subtotal
    assert "-460.00 EUR" in shown  # discount
    assert "748.60 EUR" in shown  # tax
    assert "Total\n 5,888.60 EUR" in shown


def test_markup_characters_in_names_are_printed_not_interpreted() -> None:
    shown = text(pdf(quote("Smith & Sons <Ltd>")))
    assert "Smith & Sons <Ltd>" in shown


def test_a_long_quote_flows_onto_more_pages_and_ends_with_the_total() -> None:
    many = tuple(LineItem(f"Part {n:03d}", D(1), D("10.00")) for n in range(120))
    document = pdf(quote(lines=many))
    pages = pypdf.PdfReader(io.BytesIO(document)).pages
    assert len(pages) > 1
    assert "Part 119" in pages[-1].extract_text()
    assert "1,200.00 EUR" in pages[-1].extract_text()
    assert "Product" in pages[-1].extract_text()  # the heading row repeats


def test_the_same_quote_renders_to_the_same_bytes() -> None:
    assert pdf(quote()) == pdf(quote())


def test_the_document_title_names_the_quote() -> None:
    reader = pypdf.PdfReader(io.BytesIO(pdf(quote())))
    assert reader.metadata is not None
    assert reader.metadata.title == "Quote Q-2026-000123 version 1"
