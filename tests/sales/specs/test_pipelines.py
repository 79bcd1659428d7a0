"""Pipelines: ordered stages, each with a default win probability and forecast category;
the won and lost stages close the pipeline."""

from __future__ import annotations

import pytest

from crm_sales.domain.pipeline import (
    NEW_BUSINESS,
    RENEWALS,
    ForecastCategory,
    InvalidPipeline,
    Outcome,
    Pipeline,
    Stage,
    UnknownStage,
)

WON = Stage("won", 100, ForecastCategory.CLOSED, Outcome.WON)
LOST = Stage("lost", 0, ForecastCategory.OMITTED, Outcome.LOST)
DISCOVERY = Stage("discovery", 10, ForecastCategory.PIPELINE)


def refusal(stages: tuple[Stage, ...]) -> InvalidPipeline:
    with pytest.raises(InvalidPipeline) as refused:
        Pipeline("p", stages)
    return refused.value


@pytest.mark.parametrize("pipeline", [NEW_BUSINESS, RENEWALS])
def test_the_default_pipelines_are_valid(pipeline: Pipeline) -> None:
    assert pipeline.won_stage.outcome is Outcome.WON
    assert pipeline.lost_stage.outcome is Outcome.LOST
    assert all(not stage.is_closed for stage in pipeline.open_stages)


def test_stage_names_are_unique_regardless_of_case() -> None:
    assert (
        refusal((DISCOVERY, Stage("Discovery", 20, ForecastCategory.PIPELINE), WON, LOST)).field
        == "stages"
    )


def test_a_pipeline_has_one_won_and_one_lost_stage() -> None:
    assert refusal((DISCOVERY, WON)).field == "stages"


def test_a_pipeline_has_an_open_stage() -> None:
    assert refusal((WON, LOST)).field == "stages"


def test_the_closed_stages_come_after_every_open_stage() -> None:
    assert (
        refusal((DISCOVERY, WON, Stage("late", 50, ForecastCategory.COMMIT), LOST)).field
        == "stages"
    )


@pytest.mark.parametrize("probability", [-1, 101])
def test_a_probability_is_from_0_to_100(probability: int) -> None:
    stage = Stage("odd", probability, ForecastCategory.PIPELINE)
    assert refusal((DISCOVERY, stage, WON, LOST)).field == "stages[1].probability"


def test_a_won_stage_is_100_percent_and_closed() -> None:
    half_won = Stage("won", 90, ForecastCategory.CLOSED, Outcome.WON)
    assert refusal((DISCOVERY, half_won, LOST)).field == "stages[1].category"


def test_an_open_stage_is_never_in_the_closed_category() -> None:
    early_close = Stage("early", 50, ForecastCategory.CLOSED)
    assert refusal((early_close, WON, LOST)).field == "stages[0].category"


def test_an_unknown_stage_is_refused_naming_the_field() -> None:
    with pytest.raises(UnknownStage) as refused:
        NEW_BUSINESS.stage("daydreaming")
    assert refused.value.field == "stage"
