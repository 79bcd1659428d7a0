"""The lead scoring rules in force: one rule set for the whole service, kept as events of
one aggregate (its id fixed, derived with uuid5), each event the whole set as it is from
then on. Until the first is recorded, the service's default rules apply."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.events.catalog import EventData, event_type

RuleType = Literal["job_title", "company_size", "source", "engagement"]
EngagementKindName = Literal["interaction_logged", "campaign_response", "form_submission"]


class ScoringRuleData(BaseModel):
    """One rule: ``type`` says which of the other fields it uses (``words`` for a job
    title, ``minimum``/``maximum`` for a company size, ``sources`` for a source,
    ``kind``/``half_life_days`` for engagement)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: RuleType
    name: str
    points: int
    words: list[str] | None = None
    minimum: int | None = None
    maximum: int | None = None
    sources: list[str] | None = None
    kind: EngagementKindName | None = None
    half_life_days: int | None = None


@event_type("sales", "scoring_rules", "set")
class ScoringRulesSet(EventData):
    """The rules every lead is scored by from now on, replacing the previous set whole."""

    rules: list[ScoringRuleData] = Field(default_factory=list)
    example = {
        "rules": [
            {"type": "job_title", "name": "decision maker", "points": 20, "words": ["CEO"]},
            {"type": "company_size", "name": "large company", "points": 25, "minimum": 1000},
            {"type": "source", "name": "referral", "points": 15, "sources": ["referral"]},
            {
                "type": "engagement",
                "name": "form submitted",
                "points": 30,
                "kind": "form_submission",
                "half_life_days": 14,
            },
        ]
    }
