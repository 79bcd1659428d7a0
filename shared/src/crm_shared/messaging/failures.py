"""Describing a failure without the values it involved.

A consumer works on opened (decrypted) personal data, and the errors it meets can quote
that data: PostgreSQL puts the offending row or value in an error's message, detail and
context, pydantic puts the input in its errors, and any library may put a value in an
exception's text. Dead-letter headers and log lines outlive an erasure, so they carry
only what names the failure (its type, SQLSTATE, the table, column or constraint), never
its message, unless the exception is one of ours whose messages are known to hold no
values.
"""

from __future__ import annotations

import traceback

import psycopg
import pydantic

from crm_shared.messaging.cloudevents import UndecodableRecord
from crm_shared.privacy.cipher import UnreadableValue


class SafeMessage(Exception):
    """An error whose message never quotes data (safe to put in logs and headers)."""


# Their messages are written by us and name headers, offsets or formats, never field values.
MESSAGES_WITHOUT_VALUES: tuple[type[BaseException], ...] = (
    SafeMessage,
    UndecodableRecord,
    UnreadableValue,
)


def describe(error: BaseException) -> str:
    """What went wrong, in words that hold no value from the data."""
    name = type(error).__name__
    if isinstance(error, psycopg.Error):
        diag = error.diag
        parts = [f"{name} (SQLSTATE {error.sqlstate or '?'})"]
        parts += [
            f"{label} {value}"
            for label, value in (
                ("table", diag.table_name),
                ("column", diag.column_name),
                ("constraint", diag.constraint_name),
            )
            if value
        ]
        return ", ".join(parts)
    if isinstance(error, pydantic.ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc'])}: {e['type']}"
            for e in error.errors(include_input=False, include_url=False, include_context=False)
        )
        return f"{name}: {problems}"
    if isinstance(error, MESSAGES_WITHOUT_VALUES):
        return f"{name}: {error}"
    return name


def frames(error: BaseException) -> str:
    """Where it went wrong: the traceback's frames, without any exception's message."""
    lines: list[str] = []
    current: BaseException | None = error
    while current is not None:
        lines.append(f"{describe(current)}\n")
        lines += traceback.format_tb(current.__traceback__)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
        if current is not None:
            lines.append("caused by:\n")
    return "".join(lines)
