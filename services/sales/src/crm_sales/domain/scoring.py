"""Lead scoring: points for who the lead is and for what they did, with the reasons.

Engagement decays exponentially with a half-life per rule: a touch is worth its full points
when it happens, half after one half-life, a quarter after two. We chose that over a linear
decay because it never turns negative or drops off a cliff on a given day, keeps a trace of
old interest that adds up when a lead comes back, and needs one number a marketer can
reason about ("a webinar is worth half as much after 30 days").

The score is a pure function of the facts, the rules and the instant: the same inputs give
the same score and the same reasons, so a score can be recomputed and explained later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from enum import StrEnum
from functools import cache

from crm_shared.domain import Invalid

HUNDREDTH = Decimal("0.01")
MICROSECOND = timedelta(microseconds=1)


class InvalidScoringRule(Invalid):
    code = "invalid_scoring_rule"


class EngagementKind(StrEnum):
    INTERACTION_LOGGED = "interaction_logged"
    CAMPAIGN_RESPONSE = "campaign_response"
    FORM_SUBMISSION = "form_submission"


@dataclass(frozen=True, slots=True)
class Engagement:
    kind: EngagementKind
    at: datetime


@dataclass(frozen=True, slots=True)
class LeadFacts:
    job_title: str | None = None
    company_size: int | None = None
    source: str | None = None
    engagements: tuple[Engagement, ...] = ()


@dataclass(frozen=True, slots=True)
class JobTitleRule:
    """Points when the job title contains any of the words (case-insensitive)."""

    name: str
    points: int
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CompanySizeRule:
    """Points when the company has from ``minimum`` to ``maximum`` employees (inclusive;
    no maximum: and more)."""

    name: str
    points: int
    minimum: int
    maximum: int | None = None

    def __post_init__(self) -> None:
        if self.minimum < 0 or (self.maximum is not None and self.maximum < self.minimum):
            raise InvalidScoringRule("a size band runs from its minimum up", field="maximum")


@dataclass(frozen=True, slots=True)
class SourceRule:
    name: str
    points: int
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EngagementRule:
    """Points for each engagement of the kind, halving every ``half_life``."""

    name: str
    points: int
    kind: EngagementKind
    half_life: timedelta

    def __post_init__(self) -> None:
        if self.half_life <= timedelta(0):
            raise InvalidScoringRule("a half-life is longer than nothing", field="half_life")
        # Positive, so that every engagement's points only fall as it ages: the score then
        # moves one way between engagements, which is what lets ``next_change`` find the
        # instant it moves by halving the time to it.
        if self.points <= 0:
            raise InvalidScoringRule("engagement is worth some points", field="points")


ScoringRule = JobTitleRule | CompanySizeRule | SourceRule | EngagementRule


@dataclass(frozen=True, slots=True)
class Reason:
    """Why some points: the rule, the points it gave (decayed), and the engagement's time
    (``None`` for an attribute of the lead, which holds as long as the attribute does)."""

    rule: str
    points: Decimal
    when: datetime | None


@dataclass(frozen=True, slots=True)
class Score:
    points: int
    reasons: tuple[Reason, ...]


def score(lead: LeadFacts, rules: Sequence[ScoringRule], *, at: datetime) -> Score:
    """The lead's score at the instant; engagements after it do not count yet."""
    reasons = [reason for rule in rules for reason in _reasons(lead, rule, at)]
    # Rounded reasons add up to the shown total, so the explanation never disagrees with it.
    total = sum((reason.points for reason in reasons), Decimal(0))
    return Score(int(total.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), tuple(reasons))


def _reasons(lead: LeadFacts, rule: ScoringRule, at: datetime) -> list[Reason]:
    match rule:
        case JobTitleRule(words=words):
            title = (lead.job_title or "").casefold()
            matches = any(word.casefold() in title for word in words)
            return [Reason(rule.name, Decimal(rule.points), None)] if matches else []
        case CompanySizeRule(minimum=minimum, maximum=maximum):
            size = lead.company_size
            matches = size is not None and minimum <= size and (maximum is None or size <= maximum)
            return [Reason(rule.name, Decimal(rule.points), None)] if matches else []
        case SourceRule(sources=sources):
            matches = lead.source is not None and lead.source in sources
            return [Reason(rule.name, Decimal(rule.points), None)] if matches else []
        case EngagementRule(kind=kind, half_life=half_life):
            return [
                Reason(
                    rule.name, _decayed(rule.points, at - engagement.at, half_life), engagement.at
                )
                for engagement in sorted(lead.engagements, key=lambda engagement: engagement.at)
                if engagement.kind is kind and engagement.at <= at
            ]


def _decayed(points: int, age: timedelta, half_life: timedelta) -> Decimal:
    # Decimal powers are correctly rounded, hence the same on every machine (floats need not be).
    halvings = Decimal(age // timedelta(microseconds=1)) / Decimal(
        half_life // timedelta(microseconds=1)
    )
    return (points * Decimal("0.5") ** halvings).quantize(HUNDREDTH, rounding=ROUND_HALF_EVEN)


def next_change(lead: LeadFacts, rules: Sequence[ScoringRule], *, at: datetime) -> datetime | None:
    """When the lead's (rounded) score first differs from its score at ``at``, to the
    millisecond (the first instant on a millisecond grid at which it differs), as its
    engagement ages (or a later engagement starts to count); None when it never will (no
    engagement left that a rule decays).

    Between the instants engagements happen, every engagement's points only fall
    (``EngagementRule`` points are positive), so the score does too, and the instant it
    first differs is found by halving the interval. Each decayed reason is rounded to the
    hundredth, so it reaches 0.00 at a finite instant, after which nothing changes: the
    search ends there. It runs in the command path (every engagement rescores), so the
    halving is done on a float mirror of the score (``_Rough``), and the exact score only
    confirms the instant found, or, where they disagree, is halved itself."""
    decaying = [
        (engagement, rule)
        for engagement in lead.engagements
        for rule in rules
        if isinstance(rule, EngagementRule) and rule.kind is engagement.kind
    ]
    if not decaying:
        return None
    settled = max(engagement.at + _faded_after(rule) for engagement, rule in decaying)
    steps = sorted({e.at for e, _ in decaying if at < e.at < settled})
    now = score(lead, rules, at=at).points
    rough = _Rough(lead, rules, decaying)
    start = at
    for boundary in [*steps, settled]:
        before = boundary - MICROSECOND
        if before > start and score(lead, rules, at=before).points != now:
            return _first_differing(lead, rules, rough, start, before, now)
        if score(lead, rules, at=boundary).points != now:
            return boundary
        start = boundary
    return None


PRECISION = timedelta(milliseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@cache
def _faded_after(rule: EngagementRule) -> timedelta:
    """How long until an engagement's points round to 0.00 (a little longer, never less)."""
    with localcontext() as context:
        context.prec = 40
        halvings = (Decimal(rule.points) / Decimal("0.005")).ln() / Decimal(2).ln()
    return rule.half_life * (float(halvings) + 1)


class _Rough:
    """The score in floats: the same as ``score`` but where a reason's decayed points lie
    within float error of a rounding boundary (never for long), and some thousand times
    cheaper than Decimal powers."""

    def __init__(
        self,
        lead: LeadFacts,
        rules: Sequence[ScoringRule],
        decaying: Sequence[tuple[Engagement, EngagementRule]],
    ) -> None:
        who = LeadFacts(lead.job_title, lead.company_size, lead.source)
        # In hundredths, as integers: the sum and its rounding are then exact.
        self.attributes = int(
            sum(r.points for r in score(who, rules, at=datetime.min).reasons) * 100
        )
        self.decaying = decaying

    def points(self, at: datetime) -> int:
        hundredths = self.attributes + sum(
            round(rule.points * 100 * 0.5 ** ((at - engagement.at) / rule.half_life))
            for engagement, rule in self.decaying
            if engagement.at <= at
        )
        return int((Decimal(hundredths) / 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _first_differing(
    lead: LeadFacts,
    rules: Sequence[ScoringRule],
    rough: _Rough,
    low: datetime,
    high: datetime,
    now: int,
) -> datetime:
    """The first instant on the ``PRECISION`` grid at which the score differs: the same
    whatever interval the search started from, so rescoring a lead before it is due finds
    the same due instant again (and records nothing)."""

    # The score at ``low`` is ``now`` and at ``high`` is not; it falls monotonically between.
    def exact(at: datetime) -> bool:
        return score(lead, rules, at=at).points != now

    past, low, high = high, _on_grid(low), _on_grid(high)
    found_low, found_high = _halve(low, high, lambda at: rough.points(at) != now)
    if found_high <= past and not exact(found_low) and exact(found_high):
        return found_high
    # The floats erred (or the grid's ends fall outside the interval): the exact score
    # decides.
    if exact(low):
        return low
    if not exact(high):  # a later engagement counts from just after ``past``: stop there
        return past
    return _halve(low, high, exact)[1]


def _on_grid(at: datetime) -> datetime:
    """The first instant on the ``PRECISION`` grid at or after ``at``."""
    return EPOCH - ((EPOCH - at) // PRECISION) * PRECISION


def _halve(
    low: datetime, high: datetime, differs: Callable[[datetime], bool]
) -> tuple[datetime, datetime]:
    """Neighbours on the grid, the first where the score does not differ yet."""
    while high - low > PRECISION:
        middle = low + ((high - low) // PRECISION // 2) * PRECISION
        low, high = (low, middle) if differs(middle) else (middle, high)
    return low, high
