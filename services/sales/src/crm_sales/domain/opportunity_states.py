"""An opportunity's states as validity intervals, the shape the forecast read model keeps.

Each row is the deal as it stood from ``valid_from`` until ``valid_to`` (``None``: still
so). Both are recording times, when the event that started or ended the state was
stored, so the states valid at an instant are the forecast exactly as it could be seen
then. ``close_date`` and ``created_at`` are business facts about the deal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from crm_sales.domain.money import Money
from crm_sales.domain.pipeline import ForecastCategory


class DealStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class OpportunityState:
    opportunity_id: str
    owner: str
    team: str
    pipeline: str
    stage: str
    amount: Money
    close_date: date
    probability: int
    category: ForecastCategory
    status: DealStatus
    created_at: datetime
    valid_from: datetime
    valid_to: datetime | None = None

    def valid_at(self, instant: datetime) -> bool:
        return self.valid_from <= instant and (self.valid_to is None or instant < self.valid_to)


def states_at(rows: Iterable[OpportunityState], instant: datetime) -> dict[str, OpportunityState]:
    """Each opportunity's state at the instant, by id; deals not yet recorded are absent."""
    return {row.opportunity_id: row for row in rows if row.valid_at(instant)}
