"""Turns of round-robin assignment (topic ``crm.sales.events``): whose turn it is within
a team.

One small stream per team per UTC day, at an id every process derives from the team and
the day (uuid5), so the streams stay short: assigning a lead replays at most two days of
one team's turns (today's, and yesterday's while today has none), never the whole
history. Two leads of one team assigned at the same moment meet on the version of the
day's stream, so no turn is given twice.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from crm_shared.events.catalog import EventData, event_type


@event_type("sales", "assignment_turns", "turn_taken")
class TurnTaken(EventData):
    """The rules gave ``lead_id`` to ``rep`` of ``team``: the team's turn moves on."""

    team: str
    day: date = Field(description="The UTC day whose stream of turns this is")
    rep: str = Field(description="The rep's user id")
    lead_id: UUID
    rule: str = Field(description="Why this team: `territory` or `lead_team`")
    example = {
        "team": "emea",
        "day": "2026-11-30",
        "rep": "alice",
        "lead_id": "5f0c7e2a-3b1d-4c8e-9a6f-2d4e6f8a0b1c",
        "rule": "territory",
    }
