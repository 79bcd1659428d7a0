"""The scoring rules in force, as an aggregate: one for the whole service.

Its id is fixed (derived with uuid5, never another service's id), so a put needs no lookup
and two managers putting rules at the same moment meet on one stream, where If-Match and
the event store's version check serialise them. Each ``ScoringRulesSet`` holds the whole
set; before the first, the defaults (``lead_scoring.DEFAULT_RULES``) are in force at
version 0.

Rules arrive as data (``ScoringRuleData``, the event's and the request's shape) and become
the scoring domain's rules here; a rule that makes no sense is refused naming its place,
``rules.2.half_life_days``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TypeVar
from uuid import UUID, uuid5

from crm_sales.domain.lead_scoring import DEFAULT_RULES
from crm_sales.domain.scoring import (
    CompanySizeRule,
    EngagementKind,
    EngagementRule,
    InvalidScoringRule,
    JobTitleRule,
    ScoringRule,
    SourceRule,
)
from crm_shared.catalog.sales.scoring_rules import ScoringRuleData, ScoringRulesSet
from crm_shared.domain import Aggregate, applies

# Fixed forever: the rule set's stream.
SCORING_RULES_ID = uuid5(UUID("0f7d9a52-6c3e-4b1a-9e58-2d4c6b8a1f37"), "sales:scoring-rules")

T = TypeVar("T")

# The domain's names for what the data calls otherwise.
_DATA_FIELD = {"half_life": "half_life_days"}


def rules_of(data: Sequence[ScoringRuleData]) -> tuple[ScoringRule, ...]:
    """The scoring rules the data describe, or the first thing wrong, naming its place."""
    rules: list[ScoringRule] = []
    names: set[str] = set()
    for index, rule in enumerate(data):
        if not rule.name.strip():
            raise InvalidScoringRule("a rule has a name", field=f"rules.{index}.name")
        if rule.name in names:
            raise InvalidScoringRule(
                f"two rules are named {rule.name!r}: reasons name their rule",
                field=f"rules.{index}.name",
            )
        names.add(rule.name)
        try:
            rules.append(_rule_of(rule))
        except InvalidScoringRule as invalid:
            field = _DATA_FIELD.get(invalid.field or "", invalid.field)
            raise InvalidScoringRule(str(invalid), field=f"rules.{index}.{field}") from None
    return tuple(rules)


def _required(value: T | None, field: str, rule_type: str) -> T:
    if value is None or value == []:
        raise InvalidScoringRule(f"a {rule_type} rule names its {field}", field=field)
    return value


def _rule_of(data: ScoringRuleData) -> ScoringRule:
    name, points = data.name, data.points
    match data.type:
        case "job_title":
            return JobTitleRule(name, points, tuple(_required(data.words, "words", data.type)))
        case "company_size":
            minimum = _required(data.minimum, "minimum", data.type)
            return CompanySizeRule(name, points, minimum, data.maximum)
        case "source":
            sources = _required(data.sources, "sources", data.type)
            # Sources are matched casefolded (``Lead``), so the rule's are too.
            return SourceRule(name, points, tuple(source.casefold() for source in sources))
        case "engagement":
            kind = EngagementKind(_required(data.kind, "kind", data.type))
            days = _required(data.half_life_days, "half_life_days", data.type)
            return EngagementRule(name, points, kind, timedelta(days=days))


def data_of(rules: Sequence[ScoringRule]) -> list[ScoringRuleData]:
    """The rules as data (to show, and to record)."""
    return [_data_of(rule) for rule in rules]


def _data_of(rule: ScoringRule) -> ScoringRuleData:
    match rule:
        case JobTitleRule(name=name, points=points, words=words):
            return ScoringRuleData(type="job_title", name=name, points=points, words=list(words))
        case CompanySizeRule(name=name, points=points, minimum=minimum, maximum=maximum):
            return ScoringRuleData(
                type="company_size", name=name, points=points, minimum=minimum, maximum=maximum
            )
        case SourceRule(name=name, points=points, sources=sources):
            return ScoringRuleData(type="source", name=name, points=points, sources=list(sources))
        case EngagementRule(name=name, points=points, kind=kind, half_life=half_life):
            return ScoringRuleData(
                type="engagement",
                name=name,
                points=points,
                kind=kind.value,
                half_life_days=half_life.days,
            )


class ScoringRuleSet(Aggregate):
    creation_events = (ScoringRulesSet,)

    rules: tuple[ScoringRule, ...]

    @classmethod
    def of(cls) -> ScoringRuleSet:
        """The rule set before any was recorded: the defaults, at version 0."""
        rule_set = cls(SCORING_RULES_ID)
        rule_set.rules = DEFAULT_RULES
        return rule_set

    def put(self, data: Sequence[ScoringRuleData]) -> None:
        """Puts these rules in force; the rules in force already change nothing."""
        rules = rules_of(data)
        if rules != self.rules:
            self._trigger(ScoringRulesSet(rules=data_of(rules)))

    @applies(ScoringRulesSet)
    def _set(self, e: ScoringRulesSet) -> None:
        self.rules = rules_of(e.rules)
