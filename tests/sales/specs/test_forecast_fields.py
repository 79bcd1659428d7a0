"""A deal's probability and forecast category: a stage change sets the stage's defaults,
except what a rep set by hand, which sticks until the rep clears it."""

from __future__ import annotations

import pytest

from crm_sales.domain.pipeline import NEW_BUSINESS, ForecastCategory, Outcome
from crm_sales.domain.probability import (
    DealForecast,
    InvalidForecastField,
    category_set,
    closed_as,
    moved_to,
    opened_at,
    probability_set,
)

PROSPECTING = NEW_BUSINESS.stage("prospecting")  # 10 %, pipeline
PROPOSAL = NEW_BUSINESS.stage("proposal")  # 50 %, best_case
NEGOTIATION = NEW_BUSINESS.stage("negotiation")  # 80 %, commit


def test_a_new_deal_takes_its_stage_defaults() -> None:
    assert opened_at(PROSPECTING) == DealForecast(10, ForecastCategory.PIPELINE)


def test_a_stage_change_sets_the_new_stage_defaults() -> None:
    assert moved_to(opened_at(PROSPECTING), PROPOSAL) == DealForecast(
        50, ForecastCategory.BEST_CASE
    )


def test_a_probability_set_by_hand_survives_a_stage_change() -> None:
    deal = probability_set(opened_at(PROSPECTING), 35, PROSPECTING)
    moved = moved_to(deal, NEGOTIATION)
    assert (moved.probability, moved.category) == (35, ForecastCategory.COMMIT)


def test_a_category_set_by_hand_survives_a_stage_change() -> None:
    deal = category_set(opened_at(PROSPECTING), ForecastCategory.COMMIT, PROSPECTING)
    moved = moved_to(deal, PROPOSAL)
    assert (moved.probability, moved.category) == (50, ForecastCategory.COMMIT)


def test_clearing_a_hand_set_probability_brings_back_the_stage_default() -> None:
    deal = moved_to(probability_set(opened_at(PROSPECTING), 35, PROSPECTING), PROPOSAL)
    assert probability_set(deal, None, PROPOSAL).probability == 50


def test_after_clearing_stage_changes_set_the_field_again() -> None:
    deal = category_set(opened_at(PROSPECTING), ForecastCategory.OMITTED, PROSPECTING)
    cleared = category_set(deal, None, PROSPECTING)
    assert moved_to(cleared, NEGOTIATION).category is ForecastCategory.COMMIT


def test_winning_is_100_percent_and_closed_whatever_was_set_by_hand() -> None:
    deal = category_set(opened_at(PROSPECTING), ForecastCategory.OMITTED, PROSPECTING)
    assert moved_to(deal, NEW_BUSINESS.won_stage) == DealForecast(100, ForecastCategory.CLOSED)


def test_losing_is_0_percent_and_omitted() -> None:
    assert closed_as(Outcome.LOST) == DealForecast(0, ForecastCategory.OMITTED)


def test_a_probability_by_hand_is_from_0_to_100() -> None:
    with pytest.raises(InvalidForecastField) as refused:
        probability_set(opened_at(PROSPECTING), 120, PROSPECTING)
    assert refused.value.field == "probability"


def test_nobody_closes_a_deal_by_setting_its_category() -> None:
    with pytest.raises(InvalidForecastField) as refused:
        category_set(opened_at(PROSPECTING), ForecastCategory.CLOSED, PROSPECTING)
    assert refused.value.field == "forecast_category"


def test_a_closed_deal_forecast_is_settled() -> None:
    with pytest.raises(InvalidForecastField):
        probability_set(closed_as(Outcome.WON), 40, NEW_BUSINESS.won_stage)
