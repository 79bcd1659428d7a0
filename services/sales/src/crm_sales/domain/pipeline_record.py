"""A pipeline as a CRM record: defined with its ordered stages, renamed or redefined, and
archived when no new deal should open in it. A pipeline belongs to a department and to no
one in it: managers and admins define and change it, everyone of the department reads it.

The rules of a valid pipeline are ``domain.pipeline``'s: every definition and every change
is checked against them before it is recorded. A deal keeps its stage's name when the
stages are redefined. Archiving is final (the contract has no restore): an archived
pipeline's deals stay where they are, and no new deal opens in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self
from uuid import UUID

from crm_sales.domain.pipeline import ForecastCategory, InvalidPipeline, Outcome, Pipeline, Stage
from crm_shared.catalog.sales.opportunities import (
    PipelineArchived,
    PipelineChanged,
    PipelineDefined,
    StageData,
)
from crm_shared.domain import applies
from crm_shared.events import EventData
from crm_shared.records.record import CrmRecord, RecordEvents


class PipelineRecord(CrmRecord):
    creation_events = (PipelineDefined,)
    events = RecordEvents(updated=PipelineChanged, archived=PipelineArchived)

    name: str
    stages: list[StageData]

    @classmethod
    def noun(cls) -> str:
        return "pipeline"

    @classmethod
    def create(cls, record_id: UUID, details: EventData) -> Self:
        assert isinstance(details, PipelineDefined)
        as_pipeline(details.name, details.stages)
        return super().create(record_id, details)

    @applies(PipelineDefined)
    def _defined(self, e: PipelineDefined) -> None:
        self._start_record(e)
        self.owner = None  # the department's, not anyone's

    @property
    def definition(self) -> Pipeline:
        return as_pipeline(self.name, self.stages)

    def update(self, changes: Mapping[str, Any]) -> None:
        for required in ("name", "stages"):
            if required in changes and changes[required] is None:
                raise InvalidPipeline(f"a pipeline keeps its {required}", field=required)
        as_pipeline(changes.get("name", self.name), changes.get("stages", self.stages))
        super().update(changes)


def as_pipeline(name: str, stages: Sequence[StageData]) -> Pipeline:
    """The stages as the pipeline rules read them; refused, naming the field, if invalid."""
    if not name.strip():
        raise InvalidPipeline("a pipeline has a name", field="name")
    try:
        return Pipeline(name, tuple(_stage(s, f"stages[{i}]") for i, s in enumerate(stages)))
    except InvalidPipeline as refused:
        # The rules call it a stage's category; requests and events, its forecast_category.
        if refused.field is not None and refused.field.endswith(".category"):
            refused.field = refused.field.removesuffix("category") + "forecast_category"
        raise


def _stage(data: StageData, field: str) -> Stage:
    # The request models check these already; a recorded event is read the same way.
    try:
        category = ForecastCategory(data.forecast_category)
    except ValueError:
        raise InvalidPipeline(
            f"{data.forecast_category!r} is not a forecast category",
            field=f"{field}.forecast_category",
        ) from None
    try:
        outcome = Outcome(data.outcome) if data.outcome is not None else None
    except ValueError:
        raise InvalidPipeline(
            f"{data.outcome!r} is neither won nor lost", field=f"{field}.outcome"
        ) from None
    return Stage(data.name, data.probability, category, outcome)


def stage_data(stage: Stage) -> StageData:
    return StageData(
        name=stage.name,
        probability=stage.probability,
        forecast_category=stage.category.value,
        outcome=stage.outcome.value if stage.outcome is not None else None,
    )
