"""Commands on the assignment rules and on a lead's assignment: the caller's intent,
nothing about HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from crm_sales.domain.assignment import Territory


@dataclass(frozen=True, kw_only=True)
class SetTerritories:
    territories: tuple[Territory, ...]


@dataclass(frozen=True, kw_only=True)
class SetRep:
    user: str
    team: str
    active: bool = True


@dataclass(frozen=True, kw_only=True)
class AssignLead:
    lead_id: UUID


AssignmentCommand = SetTerritories | SetRep | AssignLead
