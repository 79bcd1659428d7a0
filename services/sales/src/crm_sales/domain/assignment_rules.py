"""The assignment rules as one aggregate: the territories in order and the roster of reps
(``domain.assignment`` decides; this records what managers set).

There is one, at an id every process derives (``ASSIGNMENT_RULES_ID``). Assigning a lead
only reads it: the team's turn is taken on the team's stream of turns for the day
(``domain.assignment_turns``). So its stream grows only when a manager changes the rules,
and a manager's If-Match on it stays valid while leads are assigned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self
from uuid import NAMESPACE_URL, uuid5

from crm_sales.domain.assignment import (
    Assigned,
    LeadPlace,
    Placed,
    Rep,
    RoundRobin,
    Territory,
    Unassigned,
    assign,
    place,
)
from crm_shared.catalog.sales.assignment_rules import (
    RepSet,
    TerritoriesSet,
    TerritoryRule,
)
from crm_shared.domain import Aggregate, Conflict, applies

# Every process derives the same id, so they share the rules without a lookup. Not any
# other aggregate's id (consumers key applied versions by aggregate id alone).
ASSIGNMENT_RULES_ID = uuid5(NAMESPACE_URL, "urn:crm:sales:assignment-rules")


class NoEligibleRep(Conflict):
    """The rules find nobody for the lead: no territory covers it, or its team has no
    active rep. Nothing is recorded; the lead keeps its owner."""

    code = "no_eligible_rep"


class AssignmentRules(Aggregate):
    creation_events = (TerritoriesSet, RepSet)

    territories: tuple[Territory, ...]
    # By user id, in the order they joined the roster: the order the team's reps take turns.
    reps: dict[str, Rep]

    @classmethod
    def blank(cls) -> Self:
        """The rules before anyone set them: no territory, nobody on the roster."""
        rules = cls(ASSIGNMENT_RULES_ID)
        rules._begin()
        return rules

    def _begin(self) -> None:
        self.territories, self.reps = (), {}

    def _started(self) -> None:
        if self.version == 0:  # replayed from the store: its first event starts it
            self._begin()

    # --- the rules -----------------------------------------------------------------------

    def set_territories(self, territories: Sequence[Territory]) -> None:
        """Replaces every territory; the same ones again change nothing."""
        if tuple(territories) == self.territories and self.version > 0:
            return
        rules = [
            TerritoryRule(team=t.team, countries=sorted(t.countries), regions=sorted(t.regions))
            for t in territories
        ]
        self._trigger(TerritoriesSet(territories=rules))

    @applies(TerritoriesSet)
    def _territories_set(self, e: TerritoriesSet) -> None:
        self._started()
        self.territories = tuple(
            Territory(t.team, frozenset(t.countries), frozenset(t.regions)) for t in e.territories
        )

    def set_rep(self, user: str, team: str, active: bool) -> None:
        """Puts a rep on the roster (last in the turns), or changes their team or whether
        they are active (keeping their place); the same again changes nothing."""
        if self.reps.get(user) == Rep(user, team, active):
            return
        self._trigger(RepSet(user=user, team=team, active=active))

    @applies(RepSet)
    def _rep_set(self, e: RepSet) -> None:
        self._started()
        self.reps[e.user] = Rep(e.user, e.team, e.active)

    # --- assigning (reads only: nothing is recorded here) ---------------------------------

    def place(self, lead: LeadPlace) -> Placed:
        """The lead's team, if someone in it may take the lead."""
        placed = place(lead, self.territories)
        if isinstance(placed, Unassigned):
            raise NoEligibleRep(placed.reason)
        if not any(rep.team == placed.team and rep.active for rep in self.reps.values()):
            raise NoEligibleRep(f"team {placed.team!r} has no active rep")
        return placed

    def assign(self, lead: LeadPlace, last_turns: RoundRobin) -> Assigned:
        """The lead's rep by the rules, after the rep given the team's last lead."""
        result = assign(lead, self.territories, list(self.reps.values()), last_turns)
        if isinstance(result, Unassigned):
            raise NoEligibleRep(result.reason)
        return result

    def teams(self) -> list[str]:
        """Every team the territories or the roster name, each once."""
        named = [t.team for t in self.territories] + [r.team for r in self.reps.values()]
        return list(dict.fromkeys(named))
