"""Assignment rules of the sales service (topic ``crm.sales.events``): how new leads find
their rep.

One aggregate holds them all (its id is fixed, derived with uuid5, so every process finds
it without a lookup): the territories, in order of precedence, each sending leads from
some countries or regions to a team; and the roster of reps, each in one team, active or
not. It records only what managers set: assigning a lead reads it and takes the team's
turn on another stream (``assignment_turns``), so the rules' version moves only when a
manager changes them.
"""

from __future__ import annotations

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
