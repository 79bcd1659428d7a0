"""Which format a report is answered in (``Accept``), and what its CSV holds."""

from __future__ import annotations

import csv
import io

from crm_projections.api.formats import Format, _csv, negotiate
from crm_projections.forecast.reports import Table


def test_no_accept_header_is_answered_as_json() -> None:
    assert negotiate(None) is Format.JSON


def test_a_wildcard_is_answered_as_json() -> None:
    assert negotiate("*/*") is Format.JSON


def test_the_most_preferred_format_is_chosen_by_q_value() -> None:
    assert negotiate("application/json;q=0.5, text/csv") is Format.CSV


def test_between_equal_q_values_the_first_named_is_chosen() -> None:
    spreadsheet = Format.XLSX.value
    assert negotiate(f"{spreadsheet}, application/json") is Format.XLSX


def test_a_format_refused_with_q_zero_is_not_chosen() -> None:
    assert negotiate("text/csv;q=0, application/pdf") is None


def test_no_format_of_ours_is_none() -> None:
    assert negotiate("application/pdf, image/png") is None


def test_a_csv_cell_a_spreadsheet_would_run_as_a_formula_is_quoted() -> None:
    table = Table("t", ("group", "closed"), (("=HYPERLINK(1)", "-12.50"), ("@sum", "3")))

    rows = list(csv.reader(io.StringIO(_csv(table).decode())))

    assert rows[1:] == [["'=HYPERLINK(1)", "-12.50"], ["'@sum", "3"]]
