"""The new business funnel for deals created in 2026-Q4: how many reach each stage, what
share goes on, and the median days spent in each stage, from the states' intervals.

    deal  path (recording times, midnight UTC unless said)
    P     prospecting 10-01, qualification 10-05, proposal 10-15, negotiation 10-20, won 11-01
    Q     prospecting 10-02, qualification 10-04, lost 10-10 at noon
    R     prospecting 10-03, proposal 10-13 (skips qualification), amount changed 10-20,
          negotiation 10-27 (still there)
    S     prospecting 10-10 (still there)
    X     created 09-20: another cohort;  Y: a renewal, another pipeline
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from crm_sales.domain.funnel import FunnelStep, funnel
from crm_sales.domain.money import Money
from crm_sales.domain.opportunity_states import OpportunityState
from crm_sales.domain.pipeline import NEW_BUSINESS
from tests.sales.specs.deals import Q4, at, state


def path(
    deal: str, *steps: tuple[str, datetime], amount: str = "1000 USD"
) -> list[OpportunityState]:
    """One state per step, each valid until the next step."""
    created = steps[0][1]
    ends = [when for _, when in steps[1:]] + [None]
    return [
        state(deal, "ana", amount, stage, date(2026, 12, 31), created, when, end)
        for (stage, when), end in zip(steps, ends, strict=True)
    ]


P = path(
    "P",
    ("prospecting", at(10, 1)),
    ("qualification", at(10, 5)),
    ("proposal", at(10, 15)),
    ("negotiation", at(10, 20)),
    ("closed_won", at(11, 1)),
)
Q = path(
    "Q",
    ("prospecting", at(10, 2)),
    ("qualification", at(10, 4)),
    ("closed_lost", at(10, 10).replace(hour=12)),
)
R = path(
    "R",
    ("prospecting", at(10, 3)),
    ("proposal", at(10, 13)),
    ("proposal", at(10, 20)),
    ("negotiation", at(10, 27)),
)
R[2] = replace(R[2], amount=Money.of("1500", "USD"))
S = path("S", ("prospecting", at(10, 10)))
X = path("X", ("prospecting", at(9, 20)), ("qualification", at(10, 2)))
Y = [replace(row, pipeline="renewals") for row in path("Y", ("prospecting", at(10, 5)))]

BOOK = (*P, *Q, *R, *S, *X, *Y)


def test_the_funnel_counts_the_deals_created_in_the_period_in_the_pipeline() -> None:
    assert funnel(BOOK, NEW_BUSINESS, Q4).deals == 4  # P, Q, R, S


def test_each_stage_counts_the_deals_that_reached_it_or_a_later_one() -> None:
    # prospecting: P, Q, R, S; qualification: P, Q and R (which skipped it);
    # proposal and negotiation: P, R; won: P.
    steps = funnel(BOOK, NEW_BUSINESS, Q4).steps
    assert [(step.stage, step.reached) for step in steps] == [
        ("prospecting", 4),
        ("qualification", 3),
        ("proposal", 2),
        ("negotiation", 2),
        ("closed_won", 1),
    ]


def test_conversion_is_the_share_of_a_stage_that_reached_the_next() -> None:
    # 3/4 = 75.0; 2/3 = 66.66... -> 66.7; 2/2 = 100.0; 1/2 = 50.0; won is the end.
    steps = funnel(BOOK, NEW_BUSINESS, Q4).steps
    assert [step.converted_to_next for step in steps] == [
        Decimal("75.0"),
        Decimal("66.7"),
        Decimal("100.0"),
        Decimal("50.0"),
        None,
    ]


def test_the_median_counts_only_finished_stays_in_a_stage() -> None:
    # prospecting: P 4, Q 2, R 10 days (S is still there) -> median 4.0.
    # qualification: P 10, Q 6.5 days -> (10 + 6.5) / 2 = 8.25 -> 8.2 (half to even).
    # proposal: P 5, R 14 days (10-13 to 10-27, across its amount change) -> 9.5.
    # negotiation: P 12 days (R is still there) -> 12.0. Nobody leaves won.
    steps = funnel(BOOK, NEW_BUSINESS, Q4).steps
    assert [step.median_days_in_stage for step in steps] == [
        Decimal("4.0"),
        Decimal("8.2"),
        Decimal("9.5"),
        Decimal("12.0"),
        None,
    ]


def test_a_stage_nobody_reached_converts_nothing() -> None:
    only_s = funnel(S, NEW_BUSINESS, Q4).steps
    assert only_s[1] == FunnelStep("qualification", 0, None, None)
