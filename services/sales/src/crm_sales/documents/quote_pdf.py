"""A quote as a PDF the customer receives.

ReportLab, not fpdf2: both are well kept, but ReportLab's platypus lays out a table that
flows onto further pages by itself (a quote with many lines), subsets the TrueType font it
embeds, and has been the reference Python PDF generator for two decades. Its output is made
``invariant`` (no creation time, no random document id), so one quote renders to the same
bytes every time: a cache or a checksum can rely on it.

The font is Noto Sans (Latin, Greek and Cyrillic, OFL) from the ``fontpkg-noto-sans``
wheel, never a system font path: the PDF core fonts stop at Latin-1 and ReportLab's own
bundled Vera lacks letters such as ą, ę, ő and ț, so "Łukasz Wałęsa" or "Ődön" would print
as gaps. Only its regular instance is used; headings differ by size, not weight.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from functools import cache
from xml.sax.saxutils import escape

import fontpkg
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from crm_sales.documents.quote import (
    DiscountAmount,
    DiscountPercent,
    PricedLine,
    Quote,
    minor_units,
)

FONT = "CRM-NotoSans"
PDF_MEDIA_TYPE = "application/pdf"


@cache
def _font() -> str:
    # ReportLab keeps registered fonts process-wide; registering once is enough.
    pdfmetrics.registerFont(TTFont(FONT, str(fontpkg.path("Noto Sans"))))
    return FONT


def render_quote_pdf(quote: Quote, *, seller: str, issued_on: date, valid_until: date) -> bytes:
    """The quote's number and version, customer, every line and the totals, as PDF bytes."""
    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=12)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=22)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Quote {quote.number} version {quote.version}",
        author=seller,
        subject=f"Quote for {quote.customer}",
        creator="CRM",
        invariant=True,
        # Otherwise every page also references Helvetica, a font the PDF does not carry.
        initialFontName=font,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
    )
    document.build(
        [
            Paragraph(escape(f"Quote {quote.number}"), title),
            Paragraph(escape(f"Version {quote.version} · {quote.status}"), body),
            Spacer(1, 6 * mm),
            _parties(quote, seller, issued_on, valid_until, body),
            Spacer(1, 8 * mm),
            _lines(quote, body),
            Spacer(1, 4 * mm),
            _totals(quote, body),
        ]
    )
    return buffer.getvalue()


def _parties(
    quote: Quote, seller: str, issued_on: date, valid_until: date, style: ParagraphStyle
) -> Table:
    rows = [
        ("From", seller),
        ("For", quote.customer),
        ("Issued", issued_on.isoformat()),
        ("Valid until", valid_until.isoformat()),
    ]
    table = Table(
        [
            [Paragraph(escape(label), style), Paragraph(escape(value), style)]
            for label, value in rows
        ],
        colWidths=[30 * mm, None],
        hAlign="LEFT",
    )
    table.setStyle(_style(("TEXTCOLOR", (0, 0), (0, -1), colors.grey)))
    return table


def _lines(quote: Quote, style: ParagraphStyle) -> Table:
    right = ParagraphStyle("right", parent=style, alignment=2)
    heading = ["Product", "Quantity", "Unit price", "Discount", "Tax", "Amount"]
    rows = [[Paragraph(escape(text), style if n == 0 else right) for n, text in enumerate(heading)]]
    for line in quote.lines:
        cells = [
            line.item.product,
            _number(line.item.quantity),
            _money(line.item.unit_price, quote.currency),
            _discount(line, quote.currency),
            f"{_number(line.item.tax_percent)} %",
            _money(line.total, quote.currency),
        ]
        rows.append(
            [Paragraph(escape(text), style if n == 0 else right) for n, text in enumerate(cells)]
        )
    table = Table(rows, colWidths=[None, 20 * mm, 28 * mm, 26 * mm, 16 * mm, 30 * mm], repeatRows=1)
    table.setStyle(
        _style(
            ("LINEBELOW", (0, 0), (-1, 0), 0.75, colors.black),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        )
    )
    return table


def _totals(quote: Quote, style: ParagraphStyle) -> Table:
    right = ParagraphStyle("right", parent=style, alignment=2)
    totals = quote.totals
    rows = [
        ("Subtotal", totals.subtotal),
        ("Discount", -totals.discount if totals.discount else totals.discount),
        ("Tax", totals.tax),
        ("Total", totals.total),
    ]
    table = Table(
        [
            [
                Paragraph(escape(label), right),
                Paragraph(escape(_money(amount, quote.currency)), right),
            ]
            for label, amount in rows
        ],
        colWidths=[40 * mm, 40 * mm],
        hAlign="RIGHT",
    )
    table.setStyle(_style(("LINEABOVE", (0, -1), (-1, -1), 0.75, colors.black)))
    return table


def _style(*commands: tuple[object, ...]) -> TableStyle:
    # A table sets its cells' font even when they hold paragraphs: without this, Helvetica.
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), *commands])


def _discount(line: PricedLine, currency: str) -> str:
    match line.item.discount:
        case DiscountPercent(percent):
            return f"{_number(percent)} %"
        case DiscountAmount():
            return _money(line.discount, currency)
        case None:
            return ""


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.{minor_units(currency)}f} {currency}"


def _number(value: Decimal) -> str:
    # 2.50 units print as 2.5 and 3.00 as 3; a quantity has no currency to pad to.
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
