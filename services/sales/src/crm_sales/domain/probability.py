"""A deal's forecast fields: its win probability and forecast category, and who set them.

A stage change sets the stage's defaults, except where a rep set a field by hand: a value
set by hand sticks through later stage changes until the rep clears it (sets it to
``None``), which brings back the current stage's default. Winning and losing are facts,
not estimates, so they override everything and forget what was set by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from crm_sales.domain.pipeline import CLOSED_AS, ForecastCategory, Outcome, Stage
from crm_shared.domain import Invalid


class InvalidForecastField(Invalid):
    code = "invalid_forecast_field"


@dataclass(frozen=True, slots=True)
class DealForecast:
    probability: int
    category: ForecastCategory
    probability_by_hand: bool = False
    category_by_hand: bool = False


def opened_at(stage: Stage) -> DealForecast:
    """A new deal takes its first stage's defaults."""
    return DealForecast(stage.probability, stage.category)


def moved_to(deal: DealForecast, stage: Stage) -> DealForecast:
    if stage.outcome is not None:
        return closed_as(stage.outcome)
    return replace(
        deal,
        probability=deal.probability if deal.probability_by_hand else stage.probability,
        category=deal.category if deal.category_by_hand else stage.category,
    )


def probability_set(deal: DealForecast, probability: int | None, stage: Stage) -> DealForecast:
    """By hand, on a deal in ``stage``; ``None`` clears it back to the stage's default."""
    _still_open(stage, "probability")
    if probability is None:
        return replace(deal, probability=stage.probability, probability_by_hand=False)
    if isinstance(probability, bool) or not 0 <= probability <= 100:
        raise InvalidForecastField(
            "a win probability is a whole percentage from 0 to 100", field="probability"
        )
    return replace(deal, probability=probability, probability_by_hand=True)


def category_set(
    deal: DealForecast, category: ForecastCategory | None, stage: Stage
) -> DealForecast:
    """By hand, on a deal in ``stage``; ``None`` clears it back to the stage's default."""
    _still_open(stage, "forecast_category")
    if category is None:
        return replace(deal, category=stage.category, category_by_hand=False)
    if category is ForecastCategory.CLOSED:
        raise InvalidForecastField("a deal is closed by winning it", field="forecast_category")
    return replace(deal, category=category, category_by_hand=True)


def closed_as(outcome: Outcome) -> DealForecast:
    """Won: 100 % and closed; lost: 0 % and omitted."""
    probability, category = CLOSED_AS[outcome]
    return DealForecast(probability, category)


def _still_open(stage: Stage, field: str) -> None:
    if stage.is_closed:
        raise InvalidForecastField(f"a {stage.outcome} deal's forecast is settled", field=field)
