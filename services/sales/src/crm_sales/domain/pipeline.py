"""Pipelines: the ordered stages a deal moves through, each with its default win
probability and forecast category."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from crm_shared.domain import Invalid


class ForecastCategory(StrEnum):
    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"
    CLOSED = "closed"
    OMITTED = "omitted"


class Outcome(StrEnum):
    """What a closed stage means; open stages have none."""

    WON = "won"
    LOST = "lost"


class InvalidPipeline(Invalid):
    code = "invalid_pipeline"


class UnknownStage(Invalid):
    code = "unknown_stage"


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    probability: int
    category: ForecastCategory
    outcome: Outcome | None = None

    @property
    def is_closed(self) -> bool:
        return self.outcome is not None


# A closed stage's forecast fields are fixed: they say what happened, not a guess.
CLOSED_AS = {
    Outcome.WON: (100, ForecastCategory.CLOSED),
    Outcome.LOST: (0, ForecastCategory.OMITTED),
}


@dataclass(frozen=True, slots=True)
class Pipeline:
    name: str
    stages: tuple[Stage, ...]

    def __post_init__(self) -> None:
        for index, stage in enumerate(self.stages):
            _check_stage(stage, f"stages[{index}]")
        names = [stage.name.casefold() for stage in self.stages]
        if len(set(names)) != len(names):
            raise InvalidPipeline("stage names are unique within a pipeline", field="stages")
        outcomes = [stage.outcome for stage in self.stages if stage.outcome is not None]
        if sorted(outcomes) != [Outcome.LOST, Outcome.WON] or len(outcomes) == len(self.stages):
            raise InvalidPipeline(
                "a pipeline has open stages, one won stage and one lost stage", field="stages"
            )
        # Closed stages end the pipeline: the funnel and "next stage" read the order.
        first_closed = next(i for i, stage in enumerate(self.stages) if stage.is_closed)
        if any(not stage.is_closed for stage in self.stages[first_closed:]):
            raise InvalidPipeline(
                "the won and lost stages come after every open stage", field="stages"
            )

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise UnknownStage(f"pipeline {self.name!r} has no stage {name!r}", field="stage")

    @property
    def open_stages(self) -> tuple[Stage, ...]:
        return tuple(stage for stage in self.stages if not stage.is_closed)

    @property
    def won_stage(self) -> Stage:
        return next(stage for stage in self.stages if stage.outcome is Outcome.WON)

    @property
    def lost_stage(self) -> Stage:
        return next(stage for stage in self.stages if stage.outcome is Outcome.LOST)


def _check_stage(stage: Stage, field: str) -> None:
    if not stage.name.strip():
        raise InvalidPipeline("a stage has a name", field=f"{field}.name")
    if isinstance(stage.probability, bool) or not 0 <= stage.probability <= 100:
        raise InvalidPipeline(
            "a win probability is a whole percentage from 0 to 100", field=f"{field}.probability"
        )
    if (
        stage.outcome is not None
        and (stage.probability, stage.category) != CLOSED_AS[stage.outcome]
    ):
        probability, category = CLOSED_AS[stage.outcome]
        raise InvalidPipeline(
            f"a {stage.outcome} stage is {probability} % and {category}", field=f"{field}.category"
        )
    if stage.outcome is None and stage.category is ForecastCategory.CLOSED:
        raise InvalidPipeline("only a won stage is closed", field=f"{field}.category")


NEW_BUSINESS = Pipeline(
    "new_business",
    (
        Stage("prospecting", 10, ForecastCategory.PIPELINE),
        Stage("qualification", 20, ForecastCategory.PIPELINE),
        Stage("proposal", 50, ForecastCategory.BEST_CASE),
        Stage("negotiation", 80, ForecastCategory.COMMIT),
        Stage("closed_won", 100, ForecastCategory.CLOSED, Outcome.WON),
        Stage("closed_lost", 0, ForecastCategory.OMITTED, Outcome.LOST),
    ),
)

RENEWALS = Pipeline(
    "renewals",
    (
        Stage("upcoming", 70, ForecastCategory.BEST_CASE),
        Stage("renewal_quoted", 85, ForecastCategory.COMMIT),
        Stage("renewed", 100, ForecastCategory.CLOSED, Outcome.WON),
        Stage("churned", 0, ForecastCategory.OMITTED, Outcome.LOST),
    ),
)
