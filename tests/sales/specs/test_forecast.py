"""The pipeline forecast on the hand-written book of deals (see deals.py): every expected
figure is worked out in the comment beside it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from crm_sales.domain.exchange_rates import ExchangeRate, NoRateInForce
from crm_sales.domain.forecast import (
    Forecast,
    ForecastLine,
    GroupBy,
    Quota,
    deal_totals,
    forecast,
    forecast_of_totals,
)
from crm_sales.domain.money import Money
from crm_sales.domain.opportunity_states import OpportunityState, states_at
from crm_sales.domain.pipeline import ForecastCategory
from tests.sales.specs.deals import A1, BOOK, D2, EARLIER, NOW, Q4, RATES, at, state

QUOTAS = (
    Quota(GroupBy.OWNER, "ana", Q4, Money.of("50000", "USD")),
    Quota(GroupBy.OWNER, "dan", Q4, Money.of("40000", "EUR")),
    Quota(GroupBy.TEAM, "emea", Q4, Money.of("1", "USD")),  # another grouping: not used
)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def by_owner(as_of: datetime, rows: tuple[OpportunityState, ...] = BOOK) -> Forecast:
    return forecast(rows, Q4, GroupBy.OWNER, "USD", as_of, RATES, QUOTAS)


def line(result: Forecast, group: str) -> ForecastLine:
    return next(line for line in result.lines if line.group == group)


def test_closed_is_what_was_won_in_the_period() -> None:
    # ana: B won 20,000. dan: F won 3,000 (D was lost, C is open).
    now = by_owner(NOW)
    assert (line(now, "ana").closed, line(now, "dan").closed) == (usd("20000.00"), usd("3000.00"))


def test_the_commit_forecast_adds_commit_deals_to_what_is_closed() -> None:
    # ana: 20,000 closed + A 11,000 EUR x 1.20 = 13,200 + E 12,000 = 45,200.
    assert line(by_owner(NOW), "ana").commit_forecast == usd("45200.00")


def test_the_best_case_forecast_adds_best_case_deals_to_the_commit_forecast() -> None:
    # Earlier, ana: nothing closed; B 20,000 in commit; A 10,000 EUR x 1.10 = 11,000 in
    # best case: commit 20,000, best case 20,000 + 11,000 = 31,000.
    ana = line(by_owner(EARLIER), "ana")
    assert (ana.commit_forecast, ana.best_case_forecast) == (usd("20000.00"), usd("31000.00"))


def test_the_open_pipeline_leaves_out_omitted_deals() -> None:
    # Earlier, dan: C 5,000 open; G 4,000 is open but omitted; D lost, F won.
    dan = line(by_owner(EARLIER), "dan")
    assert (dan.open_pipeline, dan.open_count) == (usd("5000.00"), 1)


def test_the_weighted_pipeline_is_each_open_amount_times_its_probability() -> None:
    # ana: A 13,200 x 80 % = 10,560 + E 12,000 x 50 % = 6,000 -> 16,560.
    assert line(by_owner(NOW), "ana").weighted_pipeline == usd("16560.00")


def test_win_rates_count_won_against_won_and_lost_deals() -> None:
    # dan: F won 3,000, D lost 8,000 EUR x 1.10 (its close date's rate) = 8,800.
    # By count 1 / 2 = 50.0 %; by amount 3,000 / 11,800 = 25.42... -> 25.4 %.
    dan = line(by_owner(NOW), "dan")
    assert (dan.won_count, dan.lost_count, dan.lost_amount) == (1, 1, usd("8800.00"))
    assert (dan.win_rate_by_count, dan.win_rate_by_amount) == (Decimal("50.0"), Decimal("25.4"))


def test_without_a_decided_deal_there_is_no_win_rate() -> None:
    ana = line(by_owner(EARLIER), "ana")
    assert (ana.win_rate_by_count, ana.win_rate_by_amount) == (None, None)


def test_the_sales_cycle_is_the_average_days_from_created_to_won() -> None:
    # B: 2026-09-15 -> 2026-11-10 = 56 days; F: 2026-10-01 -> 2026-10-15 = 14 days.
    # Together (56 + 14) / 2 = 35.0.
    now = by_owner(NOW)
    assert line(now, "ana").average_sales_cycle_days == Decimal("56.0")
    assert now.total.average_sales_cycle_days == Decimal("35.0")


def test_attainment_is_closed_over_quota_and_the_gap_what_is_left() -> None:
    # ana: 20,000 / 50,000 = 40.0 %, gap 30,000.
    ana = line(by_owner(NOW), "ana")
    assert (ana.quota, ana.attainment, ana.gap_to_quota) == (
        usd("50000.00"),
        Decimal("40.0"),
        usd("30000.00"),
    )


def test_a_quota_in_another_currency_converts_at_the_rate_of_the_report_day() -> None:
    # dan: 40,000 EUR x 1.20 = 48,000; 3,000 / 48,000 = 6.25 % -> 6.2 (half to even).
    # Earlier: 40,000 EUR x 1.10 = 44,000; 3,000 / 44,000 = 6.818... -> 6.8 %.
    now, earlier = line(by_owner(NOW), "dan"), line(by_owner(EARLIER), "dan")
    assert (now.quota, now.attainment, now.gap_to_quota) == (
        usd("48000.00"),
        Decimal("6.2"),
        usd("45000.00"),
    )
    assert (earlier.quota, earlier.attainment) == (usd("44000.00"), Decimal("6.8"))


def test_a_deal_whose_close_date_slipped_out_of_the_period_leaves_it() -> None:
    # C (5,000) closed in December until 11-25, then in January: earlier it was dan's only
    # open deal; now dan has none (G is omitted).
    assert line(by_owner(EARLIER), "dan").open_pipeline == usd("5000.00")
    dan = line(by_owner(NOW), "dan")
    assert (dan.open_pipeline, dan.weighted_pipeline, dan.open_count) == (
        usd("0.00"),
        usd("0.00"),
        0,
    )


def test_as_of_a_past_instant_the_forecast_is_as_it_stood_then() -> None:
    # On 11-01: A in best case at 10,000 EUR x 1.10 = 11,000 (50 % -> 5,500); B in
    # commit at 20,000 (80 % -> 16,000); E did not exist. Weighted 21,500.
    assert line(by_owner(EARLIER), "ana") == ForecastLine(
        group="ana",
        closed=usd("0.00"),
        commit_forecast=usd("20000.00"),
        best_case_forecast=usd("31000.00"),
        open_pipeline=usd("31000.00"),
        weighted_pipeline=usd("21500.00"),
        open_count=2,
        won_count=0,
        lost_count=0,
        won_amount=usd("0.00"),
        lost_amount=usd("0.00"),
        win_rate_by_count=None,
        win_rate_by_amount=None,
        average_sales_cycle_days=None,
        quota=usd("50000.00"),
        attainment=Decimal("0.0"),
        gap_to_quota=usd("50000.00"),
    )


def test_an_open_deal_converts_at_the_rate_in_force_on_the_report_day() -> None:
    # A as on 11-01 (10,000 EUR, closing 12-15), seen on 11-01 (1.10) and on 11-30 (1.20).
    only_a = (replace(A1, valid_to=None),)
    assert line(by_owner(EARLIER, only_a), "ana").open_pipeline == usd("11000.00")
    assert line(by_owner(NOW, only_a), "ana").open_pipeline == usd("12000.00")


def test_an_open_deal_does_not_convert_at_a_rate_for_its_close_date() -> None:
    # A budget rate for December (1.30), recorded in advance, is not yet in force on 11-30:
    # A still converts at 1.20 -> 12,000, not 13,000.
    budget = RATES.record(ExchangeRate("EUR", date(2026, 12, 1), Decimal("1.30"), at(11, 1)))
    result = forecast((replace(A1, valid_to=None),), Q4, GroupBy.OWNER, "USD", NOW, budget)
    assert result.lines[0].open_pipeline == usd("12000.00")


def test_a_lost_deal_converts_at_the_rate_on_its_close_date() -> None:
    # D was lost on 10-20 at 1.10: 8,800, though 1.20 is in force on the report day.
    assert line(by_owner(NOW, (D2,)), "dan").lost_amount == usd("8800.00")


def test_a_rate_entered_late_changes_the_forecast_only_from_when_it_was_recorded() -> None:
    # A rate for 2026-10-20 (1.15) entered on 11-29: D's loss is 8,000 x 1.15 = 9,200 as
    # seen now, and still 8,800 as seen on 11-01.
    late = RATES.record(ExchangeRate("EUR", date(2026, 10, 20), Decimal("1.15"), at(11, 29)))
    seen = [forecast((D2,), Q4, GroupBy.OWNER, "USD", instant, late) for instant in (EARLIER, NOW)]
    assert [result.lines[0].lost_amount for result in seen] == [usd("8800.00"), usd("9200.00")]


def test_a_category_set_by_hand_survives_a_stage_change_in_the_forecast() -> None:
    # E moved from prospecting to proposal (a best-case stage) but stays in commit:
    # the proposal line has 12,000 in commit and 50 % of it weighted.
    proposal = line(forecast(BOOK, Q4, GroupBy.STAGE, "USD", NOW, RATES), "proposal")
    assert (proposal.commit_forecast, proposal.weighted_pipeline) == (
        usd("12000.00"),
        usd("6000.00"),
    )


def test_grouping_by_stage_shows_each_stage_with_a_deal_in_the_period() -> None:
    # C's prospecting stage has slipped out of Q4; G (omitted) still shows qualification.
    result = forecast(BOOK, Q4, GroupBy.STAGE, "USD", NOW, RATES)
    assert [line.group for line in result.lines] == [
        "closed_lost",
        "closed_won",
        "negotiation",
        "proposal",
        "qualification",
    ]


def test_grouping_by_team_uses_the_team_quotas() -> None:
    result = forecast(BOOK, Q4, GroupBy.TEAM, "USD", NOW, RATES, QUOTAS)
    assert [(line.group, line.quota) for line in result.lines] == [
        ("americas", None),
        ("emea", usd("1.00")),
    ]


def test_the_total_adds_up_every_group() -> None:
    # closed 20,000 + 3,000; commit 45,200 + 3,000; weighted 16,560 + 0; quota 50,000 +
    # 48,000 = 98,000; attainment 23,000 / 98,000 = 23.469... -> 23.5 %; win rate by count
    # 2 / 3 = 66.7 %, by amount 23,000 / 31,800 = 72.32... -> 72.3 %.
    total = by_owner(NOW).total
    assert (total.closed, total.commit_forecast, total.weighted_pipeline) == (
        usd("23000.00"),
        usd("48200.00"),
        usd("16560.00"),
    )
    assert (total.quota, total.attainment, total.gap_to_quota) == (
        usd("98000.00"),
        Decimal("23.5"),
        usd("75000.00"),
    )
    assert (total.win_rate_by_count, total.win_rate_by_amount) == (Decimal("66.7"), Decimal("72.3"))


def test_the_forecast_can_be_shown_in_another_currency() -> None:
    # ana's open pipeline now in EUR: A 11,000 EUR + E 12,000 USD / 1.20 = 10,000 EUR.
    result = forecast(BOOK, Q4, GroupBy.OWNER, "EUR", NOW, RATES)
    assert line(result, "ana").open_pipeline == Money.of("21000.00", "EUR")


def test_a_deal_in_a_currency_without_a_rate_is_a_clear_refusal() -> None:
    pounds = state("H", "ana", "100 GBP", "proposal", date(2026, 12, 1), at(10, 1), at(10, 1))
    with pytest.raises(NoRateInForce, match="no GBP rate"):
        forecast((pounds,), Q4, GroupBy.OWNER, "USD", NOW, RATES)


def test_an_instant_before_any_deal_gives_an_empty_forecast() -> None:
    result = forecast(BOOK, Q4, GroupBy.OWNER, "USD", datetime(2026, 1, 1, tzinfo=UTC), RATES)
    assert (result.lines, result.total.open_pipeline) == ((), usd("0.00"))


def test_deals_that_count_alike_are_summed_into_one_total() -> None:
    # Two open commit deals of ana's in USD, 1,000 at 80 % and 3,000 at 50 %: one total of
    # 4,000, weighted 800 + 1,500 = 2,300, two deals.
    opened = at(10, 1)
    first = state(
        "first",
        "ana",
        "1000 USD",
        "negotiation",
        date(2026, 11, 1),
        opened,
        opened,
        probability=80,
        category=ForecastCategory.COMMIT,
    )
    second = replace(first, opportunity_id="second", amount=usd("3000"), probability=50)

    (total,) = deal_totals((first, second), Q4, GroupBy.OWNER)

    assert (total.group, total.amount, total.weighted, total.count) == (
        "ana",
        usd("3000") + usd("1000"),
        Decimal("2300"),
        2,
    )


def test_settled_deals_keep_the_close_date_whose_rate_converts_them() -> None:
    # Won on two dates: two totals, each with its own date; open deals have none.
    created = at(10, 1)
    won_early = state("early", "ana", "500 USD", "closed_won", date(2026, 10, 5), created, created)
    won_late = replace(won_early, opportunity_id="late", close_date=date(2026, 11, 5))

    totals = deal_totals((won_early, won_late), Q4, GroupBy.OWNER)

    assert sorted(t.close_date for t in totals if t.close_date) == [
        date(2026, 10, 5),
        date(2026, 11, 5),
    ]
    assert sum(t.cycle_days for t in totals) == 4 + 35  # created October 1


def test_a_forecast_of_totals_is_the_forecast_of_the_deals() -> None:
    totals = deal_totals(states_at(BOOK, NOW).values(), Q4, GroupBy.TEAM)

    summed = forecast_of_totals(totals, Q4, GroupBy.TEAM, "USD", NOW, RATES, QUOTAS)

    assert summed == forecast(BOOK, Q4, GroupBy.TEAM, "USD", NOW, RATES, QUOTAS)
