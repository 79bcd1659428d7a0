"""The scoring rule set: rules as data become the scoring domain's rules, a rule that
makes no sense is refused naming its place in the set, and putting the rules in force
again records nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crm_sales.domain.lead_scoring import DEFAULT_RULES
from crm_sales.domain.scoring import EngagementKind, EngagementRule, InvalidScoringRule
from crm_sales.domain.scoring_rules import ScoringRuleSet, data_of, rules_of
from crm_shared.catalog.sales.scoring_rules import ScoringRuleData

FORM = {"type": "engagement", "name": "form", "points": 30, "kind": "form_submission"}


def data(*rules: dict[str, Any]) -> list[ScoringRuleData]:
    return [ScoringRuleData(**rule) for rule in rules]


def test_the_rules_as_data_and_back_are_the_same_rules() -> None:
    assert rules_of(data_of(DEFAULT_RULES)) == DEFAULT_RULES


def test_an_engagement_rule_halves_every_so_many_days() -> None:
    (rule,) = rules_of(data({**FORM, "half_life_days": 10}))
    assert rule == EngagementRule("form", 30, EngagementKind.FORM_SUBMISSION, timedelta(10))


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({**FORM, "half_life_days": 0}, "rules.1.half_life_days"),
        (FORM, "rules.1.half_life_days"),
        ({**FORM, "half_life_days": 7, "points": -1}, "rules.1.points"),
        ({"type": "job_title", "name": "cto", "points": 5}, "rules.1.words"),
        (
            {"type": "company_size", "name": "big", "points": 5, "minimum": 9, "maximum": 1},
            "rules.1.maximum",
        ),
        ({"type": "source", "name": "first", "points": 5, "sources": ["x"]}, "rules.1.name"),
    ],
)
def test_a_rule_that_makes_no_sense_is_refused_naming_its_place(
    rule: dict[str, Any], field: str
) -> None:
    first = {"type": "source", "name": "first", "points": 5, "sources": ["event"]}
    with pytest.raises(InvalidScoringRule) as refused:
        rules_of(data(first, rule))
    assert refused.value.field == field


def test_before_any_rule_set_is_put_the_defaults_are_in_force_at_version_0() -> None:
    rule_set = ScoringRuleSet.of()
    assert (rule_set.version, rule_set.rules) == (0, DEFAULT_RULES)


def test_putting_the_rules_in_force_again_records_nothing() -> None:
    rule_set = ScoringRuleSet.of()
    rule_set.put(data_of(DEFAULT_RULES))
    assert rule_set.collect_events() == []


def test_putting_other_rules_records_the_whole_set() -> None:
    rule_set = ScoringRuleSet.of()
    rule_set.put(data({**FORM, "half_life_days": 3}))
    (event,) = rule_set.collect_events()
    assert rule_set.version == 1
    assert rule_set.rules == rules_of(data({**FORM, "half_life_days": 3}))
    assert event.data.model_dump()["rules"][0]["half_life_days"] == 3
