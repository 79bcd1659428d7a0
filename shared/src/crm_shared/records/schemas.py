"""Request bodies of the routes every CRM record has: strict, validated, normalised (see
``crm_shared.values``), like every service's own."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from crm_shared.values import (
    Channel,
    ConsentStatus,
    Direction,
    Instant,
    LongText,
    Strict,
    Text,
)

Department = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
UserId = Annotated[str, Text(128, min_length=1)]


class NewRecord(Strict):
    """What every request creating a record may say besides the record's own fields: who
    owns it and where it belongs. A kind of record's create body extends it."""

    owner: UserId | None = Field(
        None, description="Left out: the caller; null: nobody (managers and admins only)"
    )
    department: Department | None = Field(None, description="Defaults to the caller's department")


class Archive(Strict):
    reason: Annotated[str, Text(500)] | None = None


class Reassign(Strict):
    owner: UserId | None
    department: Department


class LogInteraction(Strict):
    channel: Channel
    direction: Direction
    subject: Annotated[str, Text(500)] | None = None
    notes: LongText | None = None
    occurred_at: Instant | None = Field(None, description="Defaults to now")
    by: UserId | None = Field(None, description="Defaults to the caller")


class SetConsent(Strict):
    status: ConsentStatus
    source: Annotated[str, Text(200)] | None = Field(
        None, description="Where the consent was given or withdrawn (web form, call, ...)"
    )
    at: Instant | None = Field(None, description="Defaults to now")
