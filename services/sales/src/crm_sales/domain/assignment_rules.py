"""The assignment rules as one aggregate: the territories in order, the roster of reps, and
per team whose turn it is (``domain.assignment`` decides; this records).

There is one, at an id every process derives (``ASSIGNMENT_RULES_ID``). Its turn is part
of it, moved by ``TurnTaken`` each time it assigns a lead: two leads assigned at the same
moment meet on its version, so the second one is decided again on the first one's turn
(never the same turn twice), and a rep deactivated at that moment is never given a lead.

Its stream grows by one event per lead the rules assign; the rules and the roster are
small, so replaying it costs about one small event per assigned lead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self
from uuid import NAMESPACE_URL, UUID, uuid5

from crm_sales.domain.assignment import (
    Assigned,
    LeadPlace,
    Rep,
    RoundRobin,
    Territory,
    Unassigned,
    assign,
)
from crm_shared.catalog.sales.assignment_rules import (
    RepSet,
    TerritoriesSet,
    TerritoryRule,
    TurnTaken,
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
    round_robin: RoundRobin

    @classmethod
    def blank(cls) -> Self:
        """The rules before anyone set them: no territory, nobody on the roster."""
        rules = cls(ASSIGNMENT_RULES_ID)
        rules._begin()
        return rules

    def _begin(self) -> None:
        self.territories, self.reps, self.round_robin = (), {}, RoundRobin()

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

    # --- assigning ---------------------------------------------------------------------

    def assign(self, lead_id: UUID, lead: LeadPlace) -> Assigned:
        """The lead's rep by the rules; their turn is taken (recorded) at once."""
        result = assign(lead, self.territories, list(self.reps.values()), self.round_robin)
        if isinstance(result, Unassigned):
            raise NoEligibleRep(result.reason)
        self._trigger(
            TurnTaken(team=result.team, rep=result.rep, lead_id=lead_id, rule=result.rule)
        )
        return result

    @applies(TurnTaken)
    def _turn_taken(self, e: TurnTaken) -> None:
        self.round_robin = self.round_robin.after(e.team, e.rep)
