"""Assigning a lead: a territory rule (or the lead's own team) picks the team, then the
team's active reps take turns.

The turn is a value (``RoundRobin``) passed in and handed back, never kept in a global:
the caller records it as an event, so replicas and restarts agree on whose turn it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Rep:
    id: str
    team: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class Territory:
    """Leads from these countries (ISO 3166 codes) or regions go to ``team``; a territory
    naming neither takes every lead (a catch-all, put it last)."""

    team: str
    countries: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()

    def covers(self, lead: LeadPlace) -> bool:
        if not self.countries and not self.regions:
            return True
        return lead.country in self.countries or lead.region in self.regions


@dataclass(frozen=True, slots=True)
class LeadPlace:
    """What assignment reads of a lead. A lead that names its team skips the territories."""

    country: str | None = None
    region: str | None = None
    team: str | None = None


@dataclass(frozen=True, slots=True)
class RoundRobin:
    """Per team, the rep who was given the team's last lead."""

    last: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def after(self, team: str, rep: str) -> RoundRobin:
        return RoundRobin(MappingProxyType({**self.last, team: rep}))


class Rule(StrEnum):
    """Why the lead went to its team."""

    TERRITORY = "territory"  # a territory covers the lead's country or region
    LEAD_TEAM = "lead_team"  # the lead named its team


@dataclass(frozen=True, slots=True)
class Assigned:
    rep: str
    team: str
    round_robin: RoundRobin
    rule: Rule = Rule.TERRITORY
    territory: int | None = None  # the covering territory's position, from 1


@dataclass(frozen=True, slots=True)
class Unassigned:
    """Nobody is eligible; the lead stays in the queue and ``reason`` says why."""

    reason: str
    team: str | None = None


def assign(
    lead: LeadPlace,
    territories: Sequence[Territory],
    reps: Sequence[Rep],
    round_robin: RoundRobin,
) -> Assigned | Unassigned:
    """``territories`` in order of precedence; ``reps`` in the order they take turns."""
    if lead.team:
        team, rule, position = lead.team, Rule.LEAD_TEAM, None
    else:
        covering = (n for n, t in enumerate(territories, 1) if t.covers(lead))
        position = next(covering, None)
        if position is None:
            return Unassigned("no territory covers the lead and it names no team")
        team, rule = territories[position - 1].team, Rule.TERRITORY
    roster = [rep.id for rep in reps if rep.team == team]
    eligible = {rep.id for rep in reps if rep.team == team and rep.active}
    if not eligible:
        return Unassigned(f"team {team!r} has no active rep", team)
    last = round_robin.last.get(team)
    # Start after the last rep given a lead; a rep since removed from the team restarts it.
    start = roster.index(last) + 1 if last in roster else 0
    turn_order = roster[start:] + roster[:start]
    rep = next(rep for rep in turn_order if rep in eligible)
    return Assigned(rep, team, round_robin.after(team, rep), rule, position)
