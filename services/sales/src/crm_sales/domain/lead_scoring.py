"""The rules a lead is scored by, in one place (``crm_sales.domain.scoring`` computes).

| rule              | points | when                                                    |
|-------------------|-------:|---------------------------------------------------------|
| decision maker    |     20 | job title names a CEO, CTO, CFO, COO, VP, head, director |
| manager           |     10 | job title names a manager or lead                       |
| mid-size company  |     15 | 50 to 999 employees                                     |
| large company     |     25 | 1000 employees or more                                  |
| referral          |     15 | source is "referral" or "partner"                       |
| event             |     10 | source is "event", "webinar" or "conference"            |
| form submitted    |     30 | each form submission, halving every 14 days             |
| campaign response |     10 | each campaign response, halving every 7 days            |
| interaction       |      5 | each interaction logged, halving every 30 days          |

These are the defaults: in force until a manager puts a rule set (``PUT
/v1/scoring-rules``, ``scoring_rules``). The engagement rules count the engagement other
services' events bring to a lead (``crm_sales.lead_engagement``).
"""

from __future__ import annotations

from datetime import timedelta

from crm_sales.domain.scoring import (
    CompanySizeRule,
    EngagementKind,
    EngagementRule,
    JobTitleRule,
    ScoringRule,
    SourceRule,
)

DAY = timedelta(days=1)

DEFAULT_RULES: tuple[ScoringRule, ...] = (
    JobTitleRule(
        "decision maker",
        20,
        ("CEO", "CTO", "CFO", "COO", "VP", "Vice President", "Head", "Director"),
    ),
    JobTitleRule("manager", 10, ("Manager", "Lead")),
    CompanySizeRule("mid-size company", 15, 50, 999),
    CompanySizeRule("large company", 25, 1000),
    SourceRule("referral", 15, ("referral", "partner")),
    SourceRule("event", 10, ("event", "webinar", "conference")),
    EngagementRule("form submitted", 30, EngagementKind.FORM_SUBMISSION, 14 * DAY),
    EngagementRule("campaign response", 10, EngagementKind.CAMPAIGN_RESPONSE, 7 * DAY),
    EngagementRule("interaction", 5, EngagementKind.INTERACTION_LOGGED, 30 * DAY),
)
