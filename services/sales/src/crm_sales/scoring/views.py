"""What the API shows of the scoring rules."""

from __future__ import annotations

from pydantic import BaseModel, Field

from crm_sales.domain.scoring_rules import ScoringRuleSet, data_of
from crm_shared.catalog.sales.scoring_rules import ScoringRuleData


class ScoringRulesView(BaseModel):
    version: int = Field(description="0: no rule set was put yet, the defaults are in force")
    rules: list[ScoringRuleData]

    @classmethod
    def of(cls, rule_set: ScoringRuleSet) -> ScoringRulesView:
        return cls(version=rule_set.version, rules=data_of(rule_set.rules))
