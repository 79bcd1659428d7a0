"""The follow-ups service is a short declaration: at most 150 lines of code, and neither
an installed service nor a part of the published catalog."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

from crm_shared.catalog import CATALOG
from crm_shared.service import installed_services
from tests.skeleton import service

BUDGET = 150
SERVICE = Path(service.__file__)


def lines_of_code(source: str) -> int:
    """Lines holding code: not blank, not only a comment, not part of a docstring."""
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.update(range(body[0].lineno, (body[0].end_lineno or 0) + 1))
    code: set[int] = set()
    skipped = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skipped and token.type != tokenize.ENDMARKER:
            code.update(range(token.start[0], token.end[0] + 1))
    return len(code - docstrings)


def test_blank_lines_comments_and_docstrings_are_not_code() -> None:
    source = '''"""A module."""

# why
def f(x):  # what
    """A function,
    described."""
    return (
        x  # more
    )
'''
    assert lines_of_code(source) == 4


def test_a_multi_line_string_that_is_not_a_docstring_is_code() -> None:
    assert lines_of_code('x = 1\nSQL = """\nSELECT 1\n"""\n') == 4


def test_the_service_is_at_most_150_lines_of_code() -> None:
    count = lines_of_code(SERVICE.read_text())
    assert count <= BUDGET, f"{SERVICE.name}: {count} lines of code, over the budget of {BUDGET}"


def test_the_service_is_not_installed() -> None:
    assert service.SERVICE.name not in installed_services()
    assert service.BOARD.name not in installed_services()


def test_its_event_types_are_in_its_own_catalog_not_the_published_one() -> None:
    assert service.EVENTS.services() == ["followups"]
    assert "followups" not in CATALOG.services()
