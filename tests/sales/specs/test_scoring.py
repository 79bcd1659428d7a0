"""Lead scoring: points for attributes and for engagement that halves every half-life,
with the reasons a rep sees."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from crm_sales.domain.scoring import (
    CompanySizeRule,
    Engagement,
    EngagementKind,
    EngagementRule,
    InvalidScoringRule,
    JobTitleRule,
    LeadFacts,
    Reason,
    SourceRule,
    score,
)

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)

DECISION_MAKER = JobTitleRule("decision maker", 20, ("CTO", "VP", "Head of"))
MID_MARKET = CompanySizeRule("mid-market", 15, 200, 999)
REFERRAL = SourceRule("referral", 10, ("referral",))
FORM = EngagementRule("form submitted", 30, EngagementKind.FORM_SUBMISSION, 14 * DAY)
CAMPAIGN = EngagementRule("campaign response", 10, EngagementKind.CAMPAIGN_RESPONSE, 7 * DAY)
RULES = (DECISION_MAKER, MID_MARKET, REFERRAL, FORM, CAMPAIGN)

ENGAGEMENTS = (
    Engagement(EngagementKind.FORM_SUBMISSION, AT - 14 * DAY),
    Engagement(EngagementKind.FORM_SUBMISSION, AT),
    Engagement(EngagementKind.CAMPAIGN_RESPONSE, AT - 21 * DAY),
    Engagement(EngagementKind.INTERACTION_LOGGED, AT - DAY),  # no rule scores it
    Engagement(EngagementKind.FORM_SUBMISSION, AT + DAY),  # not yet happened at AT
)
LEAD = LeadFacts("VP Engineering", 250, "referral", ENGAGEMENTS)


def test_a_score_adds_attribute_and_decayed_engagement_points() -> None:
    # 20 (VP) + 15 (250 staff) + 10 (referral)
    # + 30 x 0.5^(14/14) = 15 (form two weeks ago) + 30 (form now)
    # + 10 x 0.5^(21/7) = 1.25 (campaign three weeks ago) = 91.25, shown as 91
    assert score(LEAD, RULES, at=AT).points == 91


def test_the_reasons_say_which_rule_gave_how_many_points_and_when() -> None:
    assert score(LEAD, RULES, at=AT).reasons == (
        Reason("decision maker", Decimal(20), None),
        Reason("mid-market", Decimal(15), None),
        Reason("referral", Decimal(10), None),
        Reason("form submitted", Decimal("15.00"), AT - 14 * DAY),
        Reason("form submitted", Decimal("30.00"), AT),
        Reason("campaign response", Decimal("1.25"), AT - 21 * DAY),
    )


def test_decay_is_continuous_between_half_lives() -> None:
    # Half a half-life: 30 x 0.5^0.5 = 30 x 0.70710678... = 21.21
    lead = LeadFacts(engagements=(Engagement(EngagementKind.FORM_SUBMISSION, AT - 7 * DAY),))
    assert score(lead, (FORM,), at=AT).reasons[0].points == Decimal("21.21")


def test_engagement_after_the_instant_does_not_count_yet() -> None:
    lead = LeadFacts(engagements=(Engagement(EngagementKind.FORM_SUBMISSION, AT + DAY),))
    assert score(lead, (FORM,), at=AT).points == 0


def test_the_same_facts_in_any_order_give_the_same_score_and_reasons() -> None:
    shuffled = list(ENGAGEMENTS)
    random.Random(7).shuffle(shuffled)
    assert score(LeadFacts("VP Engineering", 250, "referral", tuple(shuffled)), RULES, at=AT) == (
        score(LEAD, RULES, at=AT)
    )


def test_a_job_title_matches_any_word_ignoring_case() -> None:
    assert score(LeadFacts(job_title="head of data"), (DECISION_MAKER,), at=AT).points == 20
    assert score(LeadFacts(job_title="Analyst"), (DECISION_MAKER,), at=AT).points == 0


@pytest.mark.parametrize(("size", "points"), [(199, 0), (200, 15), (999, 15), (1000, 0), (None, 0)])
def test_a_size_band_includes_both_ends(size: int | None, points: int) -> None:
    assert score(LeadFacts(company_size=size), (MID_MARKET,), at=AT).points == points


def test_a_half_life_is_longer_than_nothing() -> None:
    with pytest.raises(InvalidScoringRule) as refused:
        EngagementRule("instant", 5, EngagementKind.FORM_SUBMISSION, timedelta(0))
    assert refused.value.field == "half_life"
