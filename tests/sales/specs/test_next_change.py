"""When a lead's score next changes as its engagement ages (``next_change``): an instant
at which its rounded score already differs from the score now, at most a couple of
milliseconds after the first, found without scanning time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_sales.domain.scoring import (
    Engagement,
    EngagementKind,
    EngagementRule,
    InvalidScoringRule,
    JobTitleRule,
    LeadFacts,
    next_change,
    score,
)

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
# Before the first change: the answer is within this of it.
JUST_BEFORE = timedelta(milliseconds=3)

FORM = EngagementRule("form submitted", 30, EngagementKind.FORM_SUBMISSION, 14 * DAY)
TITLE = JobTitleRule("decision maker", 20, ("CTO",))


def submitted(*instants: datetime, title: str | None = None) -> LeadFacts:
    return LeadFacts(
        job_title=title,
        engagements=tuple(Engagement(EngagementKind.FORM_SUBMISSION, at) for at in instants),
    )


def test_a_lead_without_engagement_never_changes_by_itself() -> None:
    assert next_change(LeadFacts(job_title="CTO"), (TITLE, FORM), at=AT) is None


def test_engagement_no_rule_decays_changes_nothing() -> None:
    lead = LeadFacts(engagements=(Engagement(EngagementKind.INTERACTION_LOGGED, AT),))
    assert next_change(lead, (TITLE, FORM), at=AT) is None


def test_the_next_change_is_when_the_rounded_score_first_differs() -> None:
    lead = submitted(AT)
    changes = next_change(lead, (FORM,), at=AT)
    assert changes is not None
    assert score(lead, (FORM,), at=changes).points == 29
    assert score(lead, (FORM,), at=changes - JUST_BEFORE).points == 30


def test_the_next_change_of_a_half_life_old_engagement_is_from_its_score_then() -> None:
    lead = submitted(AT - 14 * DAY, title="CTO")
    at = AT
    assert score(lead, (TITLE, FORM), at=at).points == 35
    changes = next_change(lead, (TITLE, FORM), at=at)
    assert changes is not None and changes > at
    assert score(lead, (TITLE, FORM), at=changes).points == 34
    assert score(lead, (TITLE, FORM), at=changes - JUST_BEFORE).points == 35


def test_an_engagement_yet_to_happen_changes_the_score_when_it_happens() -> None:
    # Now: an old, long faded submission; a new one is dated tomorrow (its sender's clock).
    lead = submitted(AT - 3650 * DAY, AT + DAY)
    assert next_change(lead, (FORM,), at=AT) == AT + DAY


def test_once_every_engagement_has_faded_the_score_never_changes_again() -> None:
    lead = submitted(AT - 3650 * DAY, title="CTO")
    assert score(lead, (TITLE, FORM), at=AT).points == 20
    assert next_change(lead, (TITLE, FORM), at=AT) is None


def test_following_the_changes_walks_the_score_down_to_its_attributes() -> None:
    lead, rules = submitted(AT, title="CTO"), (TITLE, FORM)
    seen, at = [score(lead, rules, at=AT).points], AT
    while (changes := next_change(lead, rules, at=at)) is not None:
        seen.append(score(lead, rules, at=changes).points)
        at = changes
    assert seen == list(range(50, 19, -1))


def test_engagement_is_worth_some_points() -> None:
    with pytest.raises(InvalidScoringRule) as refused:
        EngagementRule("unsubscribed", -5, EngagementKind.CAMPAIGN_RESPONSE, DAY)
    assert refused.value.field == "points"


def test_asked_again_from_any_instant_before_it_the_next_change_is_the_same() -> None:
    lead = submitted(AT, title="CTO")
    changes = next_change(lead, (TITLE, FORM), at=AT)
    assert changes is not None
    for earlier in (AT + (changes - AT) / 2, changes - timedelta(seconds=1), changes - JUST_BEFORE):
        assert next_change(lead, (TITLE, FORM), at=earlier) == changes
