"""What moved the Q4 forecast between two instants, on the hand-written book of deals
(see deals.py), in USD: per deal and in total, every effect worked out beside it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from crm_sales.domain.forecast_changes import (
    Change,
    ChangeKind,
    ChangeTotal,
    DealChanges,
    ForecastChanges,
    InvalidInterval,
    forecast_changes,
)
from crm_sales.domain.money import Money
from crm_sales.domain.opportunity_states import OpportunityState
from tests.sales.specs.deals import BOOK, C1, C2, EARLIER, NOW, Q4, RATES, at


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def changes(
    rows: tuple[OpportunityState, ...] = BOOK, from_: datetime = EARLIER, to: datetime = NOW
) -> ForecastChanges:
    return forecast_changes(rows, Q4, from_, to, "USD", RATES)


def of(result: ForecastChanges, deal: str) -> tuple[Change, ...]:
    return next(moved.changes for moved in result.deals if moved.opportunity_id == deal)


def test_only_the_deals_that_moved_are_listed() -> None:
    # D was lost and F won before 11-01; G stayed omitted: none of them moved.
    assert [moved.opportunity_id for moved in changes().deals] == ["A", "B", "C", "E"]


def test_a_deal_recorded_after_the_first_instant_is_new() -> None:
    assert of(changes(), "E") == (Change(ChangeKind.NEW, usd("12000.00")),)


def test_a_deal_won_in_between_adds_its_value_as_won() -> None:
    assert of(changes(), "B") == (Change(ChangeKind.WON, usd("20000.00")),)


def test_a_close_date_slipping_out_of_the_period_takes_its_value_out() -> None:
    assert of(changes(), "C") == (Change(ChangeKind.SLIPPED_OUT, usd("-5000.00")),)


def test_a_close_date_slipping_into_the_period_brings_its_value_in() -> None:
    # C the other way round: in January first, then in December.
    january = replace(C2, valid_from=at(10, 10), valid_to=at(11, 25))
    december = replace(C1, valid_from=at(11, 25), valid_to=None)
    assert of(changes((january, december)), "C") == (Change(ChangeKind.SLIPPED_IN, usd("5000.00")),)


def test_a_deal_lost_in_between_takes_out_its_value_before() -> None:
    # From 10-01 noon: D open at 8,000 EUR x 1.10 = 8,800, lost on 10-20.
    assert of(changes(from_=at(10, 1).replace(hour=12)), "D") == (
        Change(ChangeKind.LOST, usd("-8800.00")),
    )


def test_a_deal_can_move_category_change_amount_and_feel_the_exchange_rate_at_once() -> None:
    # A: best case -> commit, now worth 11,000 EUR x 1.20 = 13,200;
    # amount: (11,000 - 10,000) EUR x 1.20 = +1,200;
    # exchange rate: 10,000 EUR x (1.20 - 1.10) = +1,000.
    assert of(changes(), "A") == (
        Change(ChangeKind.CATEGORY_MOVED, usd("13200.00"), "best_case -> commit"),
        Change(ChangeKind.AMOUNT_CHANGED, usd("1200.00")),
        Change(ChangeKind.EXCHANGE_RATE, usd("1000.00")),
    )


def test_amount_and_exchange_rate_effects_explain_the_whole_change_of_value() -> None:
    # A was worth 11,000 on 11-01 and 13,200 on 11-30: +2,200 = 1,200 + 1,000.
    effects = {change.kind: change.effect for change in of(changes(), "A")}
    assert effects[ChangeKind.AMOUNT_CHANGED] + effects[ChangeKind.EXCHANGE_RATE] == usd("2200.00")


def test_the_totals_count_the_deals_and_add_up_the_effects_per_kind() -> None:
    assert changes().totals == (
        ChangeTotal(ChangeKind.NEW, 1, usd("12000.00")),
        ChangeTotal(ChangeKind.SLIPPED_OUT, 1, usd("-5000.00")),
        ChangeTotal(ChangeKind.WON, 1, usd("20000.00")),
        ChangeTotal(ChangeKind.CATEGORY_MOVED, 1, usd("13200.00")),
        ChangeTotal(ChangeKind.AMOUNT_CHANGED, 1, usd("1200.00")),
        ChangeTotal(ChangeKind.EXCHANGE_RATE, 1, usd("1000.00")),
    )


def test_each_deal_shows_how_it_stood_at_both_instants() -> None:
    # C closing on 12-20 at the first instant and on 2027-01-15 at the second.
    moved = next(moved for moved in changes().deals if moved.opportunity_id == "C")
    assert moved == DealChanges("C", C1, C2, moved.changes)


def test_the_first_instant_comes_before_the_second() -> None:
    with pytest.raises(InvalidInterval) as refused:
        changes(from_=NOW, to=EARLIER)
    assert refused.value.field == "from"
