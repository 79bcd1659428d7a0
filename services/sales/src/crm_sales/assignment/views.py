"""What the API shows of the assignment rules."""

from __future__ import annotations

from pydantic import BaseModel, Field

from crm_sales.domain.assignment_rules import AssignmentRules


class TerritoryView(BaseModel):
    team: str
    countries: list[str] = Field(description="ISO 3166-1 alpha-2")
    regions: list[str]


class RepView(BaseModel):
    user: str
    team: str
    active: bool


class AssignmentRulesView(BaseModel):
    version: int = Field(description="Moves with every change of the rules and every turn taken")
    territories: list[TerritoryView] = Field(
        description="In order of precedence: the first covering a lead picks its team"
    )
    reps: list[RepView] = Field(description="In the order they take turns within their team")
    turns: dict[str, str] = Field(description="Per team, the rep the rules last gave a lead")

    @classmethod
    def of(cls, rules: AssignmentRules) -> AssignmentRulesView:
        return cls(
            version=rules.version,
            territories=[
                TerritoryView(team=t.team, countries=sorted(t.countries), regions=sorted(t.regions))
                for t in rules.territories
            ],
            reps=[RepView(user=r.id, team=r.team, active=r.active) for r in rules.reps.values()],
            turns=dict(rules.round_robin.last),
        )
