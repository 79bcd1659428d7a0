"""The request body of ``PUT /v1/scoring-rules``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from crm_shared.values import Strict

RuleName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Word = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ScoringRuleBody(Strict):
    """One rule; ``type`` says which of the other fields it needs."""

    type: Literal["job_title", "company_size", "source", "engagement"] = Field(
        description="job_title: `words`; company_size: `minimum` (and `maximum`); "
        "source: `sources`; engagement: `kind` and `half_life_days`"
    )
    name: RuleName = Field(description="Unique in the set: the reasons a lead shows name it")
    points: int = Field(
        ge=-1000,
        le=1000,
        description="Points when the rule holds (engagement: for each one, when it happens; "
        "positive)",
    )
    words: list[Word] | None = Field(
        None,
        max_length=100,
        description="job_title: the rule holds when the title contains any (ignoring case)",
    )
    minimum: int | None = Field(None, ge=0, description="company_size: employees, at least")
    maximum: int | None = Field(
        None, ge=0, description="company_size: employees, at most (left out: no maximum)"
    )
    sources: list[Word] | None = Field(
        None, max_length=100, description="source: the lead's source is one (ignoring case)"
    )
    kind: Literal["interaction_logged", "campaign_response", "form_submission"] | None = Field(
        None, description="engagement: which engagement it counts"
    )
    half_life_days: int | None = Field(
        None,
        ge=1,
        le=3650,
        description="engagement: its points halve every so many days (decay over time)",
    )


class PutScoringRules(Strict):
    rules: list[ScoringRuleBody] = Field(
        max_length=200, description="The whole set, replacing the one in force"
    )
