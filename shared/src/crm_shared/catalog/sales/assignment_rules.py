"""Assignment rules of the sales service (topic ``crm.sales.events``): how new leads find
their rep.

One aggregate holds them all (its id is fixed, derived with uuid5, so every process finds
it without a lookup): the territories, in order of precedence, each sending leads from
some countries or regions to a team; the roster of reps, each in one team, active or not;
and, per team, whose turn it is. The turn moves by an event each time the rules assign a
lead (``turn_taken``), on the same stream as the rules, so two leads assigned at the same
moment meet on its version and never take the same turn, and a rep deactivated at that
moment is never given the lead.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.events.catalog import EventData, event_type


class TerritoryRule(BaseModel):
    """Leads from these countries or regions go to ``team``; naming neither takes every
    lead (a catch-all, put last)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    team: str
    countries: list[str] = Field(default_factory=list, description="ISO 3166-1 alpha-2")
    regions: list[str] = Field(default_factory=list)


@event_type("sales", "assignment_rules", "territories_set")
class TerritoriesSet(EventData):
    """The territories, all of them, in order of precedence (the first covering a lead
    picks its team), replacing the previous ones."""

    territories: list[TerritoryRule]
    example = {
        "territories": [
            {"team": "emea", "countries": ["DE", "FR"], "regions": ["EMEA"]},
            {"team": "americas", "countries": [], "regions": []},
        ]
    }


@event_type("sales", "assignment_rules", "rep_set")
class RepSet(EventData):
    """A rep joins the roster, moves to another team, or becomes active or inactive (an
    inactive rep keeps their place in the turn but is skipped)."""

    user: str = Field(description="The rep's user id")
    team: str
    active: bool
    example = {"user": "alice", "team": "emea", "active": True}


@event_type("sales", "assignment_rules", "turn_taken")
class TurnTaken(EventData):
    """The rules gave ``lead_id`` to ``rep`` of ``team``: the team's turn moves on."""

    team: str
    rep: str = Field(description="The rep's user id")
    lead_id: UUID
    rule: str = Field(description="Why this team: `territory` or `lead_team`")
    example = {
        "team": "emea",
        "rep": "alice",
        "lead_id": "5f0c7e2a-3b1d-4c8e-9a6f-2d4e6f8a0b1c",
        "rule": "territory",
    }
