"""One report, three formats: JSON, CSV or XLSX, as the ``Accept`` header asks (406 when
it accepts none of them)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import orjson
import xlsxwriter
from fastapi.responses import Response

from crm_projections.forecast.reports import Cell, Table
from crm_shared.http.problems import Problem


class Format(StrEnum):
    JSON = "application/json"
    CSV = "text/csv"
    XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


WILDCARDS = {"*/*": Format.JSON, "application/*": Format.JSON, "text/*": Format.CSV}


def negotiate(accept: str | None) -> Format | None:
    """The format the client prefers most (by q-value, then by its order), None when it
    accepts none of ours. No ``Accept`` header accepts anything: JSON."""
    if not accept or not accept.strip():
        return Format.JSON
    offers: list[tuple[float, int, Format]] = []
    for position, item in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        offered = next((f for f in Format if f.value == media), None) or WILDCARDS.get(media)
        if offered is not None and quality > 0:
            offers.append((-quality, position, offered))
    return min(offers)[2] if offers else None


def not_acceptable() -> Problem:
    return Problem(
        406,
        "not_acceptable",
        "Not acceptable",
        "this report is available as " + ", ".join(f.value for f in Format),
    )


# A spreadsheet opening a CSV file runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(cell: Cell) -> Cell:
    """A text cell (an owner's or a stage's name) that a spreadsheet would run as a
    formula, quoted; a negative amount stays a number."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) and _numeric(cell) is None:
        return "'" + cell
    return cell


def _csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.header)
    writer.writerows(tuple(_inert(cell) for cell in row) for row in table.rows)
    return out.getvalue().encode()


def _numeric(cell: Cell) -> Decimal | None:
    if not isinstance(cell, str):
        return None
    try:
        value = Decimal(cell)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _xlsx(table: Table) -> bytes:
    out = io.BytesIO()
    # In memory: nothing touches the disk, and the workbook is small.
    workbook = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = workbook.add_worksheet("report")
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 0, table.header, bold)
    for r, row in enumerate(table.rows, start=1):
        for c, cell in enumerate(row):
            number = _numeric(cell)
            # A spreadsheet holds numbers as binary floats: amounts are written as numbers
            # so that they can be summed there; the JSON and CSV keep them exact.
            if isinstance(cell, int):
                sheet.write_number(r, c, cell)
            elif number is not None:
                sheet.write_number(r, c, float(number))
            elif cell is not None:
                sheet.write_string(r, c, cell)
    workbook.set_properties({"title": table.title})
    workbook.close()
    return out.getvalue()


def respond(
    accept: str | None,
    filename: str,
    document: Callable[[], dict[str, Any]],
    table: Callable[[], Table],
) -> Response:
    """The report in the format asked for."""
    match negotiate(accept):
        case Format.JSON:
            return Response(orjson.dumps(document()), media_type=Format.JSON.value)
        case Format.CSV:
            return Response(
                _csv(table()),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
            )
        case Format.XLSX:
            return Response(
                _xlsx(table()),
                media_type=Format.XLSX.value,
                headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
            )
    raise not_acceptable()
