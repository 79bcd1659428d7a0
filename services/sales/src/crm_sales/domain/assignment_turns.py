"""One team's turns of one UTC day: the rep given each of the team's leads that day, in
order. The last one says whose turn is next (``domain.assignment`` decides).

A day's stream is at an id every process derives from the team and the day
(``turns_id``), not one stream for all time: assigning replays today's turns, or
yesterday's while today has none, so its cost is bounded by two days of one team's
assignments. Two leads of one team assigned at the same moment both take a turn on
today's stream and meet on its version: the one that loses decides again on the fresh
turn, so no turn is given twice.
"""

from __future__ import annotations

from datetime import date
from typing import Self
from uuid import NAMESPACE_URL, UUID, uuid5

from crm_sales.domain.assignment import Assigned
from crm_shared.catalog.sales.assignment_turns import TurnTaken
from crm_shared.domain import Aggregate, applies

# Not any other aggregate's id space (consumers key applied versions by aggregate id alone).
TURNS_NAMESPACE = uuid5(NAMESPACE_URL, "urn:crm:sales:assignment-turns")


def turns_id(team: str, day: date) -> UUID:
    """The id of ``team``'s stream of turns for the UTC ``day``."""
    return uuid5(TURNS_NAMESPACE, f"{team}/{day.isoformat()}")


class TeamTurns(Aggregate):
    creation_events = (TurnTaken,)

    team: str
    day: date
    last: str | None  # the rep given the team's last lead that day

    @classmethod
    def opening(cls, team: str, day: date) -> Self:
        """The day's turns before the team's first lead of the day."""
        turns = cls(turns_id(team, day))
        turns.team, turns.day, turns.last = team, day, None
        return turns

    def take(self, lead_id: UUID, given: Assigned) -> None:
        """``given.rep`` takes the team's turn with ``lead_id``."""
        if given.team != self.team:
            raise ValueError(f"a turn of team {given.team!r} on team {self.team!r}'s stream")
        self._trigger(
            TurnTaken(team=self.team, day=self.day, rep=given.rep, lead_id=lead_id, rule=given.rule)
        )

    @applies(TurnTaken)
    def _turn_taken(self, e: TurnTaken) -> None:
        self.team, self.day, self.last = e.team, e.day, e.rep
