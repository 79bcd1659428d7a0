"""Pipelines: ordered stages, each with a default win probability and forecast category;
the won and lost stages close the pipeline. As a record, a pipeline is defined, renamed
or redefined only within those rules, and archived; the two defaults are seeded once."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import orjson
import pytest

from crm_sales.application import SalesApplication
from crm_sales.deal_commands import ChangePipeline, DefinePipeline, PipelinesManaged
from crm_sales.default_pipelines import default_pipeline_id, undefined_defaults
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
from crm_sales.domain.pipeline_names import REGISTER_ID
from crm_sales.domain.pipeline_record import PipelineRecord, stage_data
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.sales.opportunities import (
    PipelineArchived,
    PipelineChanged,
    PipelineDefined,
    StageData,
)
from crm_shared.catalog.sales.pipeline_names import PipelineNameClaimed, PipelineNameReleased
from crm_shared.events import DomainEvent
from crm_shared.eventstore.in_memory import InMemoryEventStore
from crm_shared.records.commands import ArchiveRecord
from crm_shared.records.record import RecordArchived
from crm_shared.specs import Specification
from tests.sales.specs.contact_records import NONE_KNOWN

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


# --- the pipeline record ---------------------------------------------------------------

spec = Specification(lambda store: SalesApplication(store, store, contacts=NONE_KNOWN))

MANAGER = Principal("mia", Role.MANAGER, ("sales",))
REP = Principal("rita", Role.SALES_REP, ("sales",))
PIPELINE = uuid4()
OPEN = StageData(name="discovery", probability=10, forecast_category="pipeline")
CLOSED = [
    StageData(name="won", probability=100, forecast_category="closed", outcome="won"),
    StageData(name="lost", probability=0, forecast_category="omitted", outcome="lost"),
]
defined = PipelineDefined(name="partners", stages=[OPEN, *CLOSED], department="sales")
claimed = PipelineNameClaimed(name="partners", key="partners", pipeline_id=PIPELINE)
# A pipeline as it is defined now: its name held in the register of names.
DEFINED = {PIPELINE: [defined], REGISTER_ID: [claimed]}


def define(**values: Any) -> DefinePipeline:
    given: dict[str, Any] = {"name": "partners", "stages": [OPEN, *CLOSED]}
    return DefinePipeline(record_id=PIPELINE, values=given | values)


async def test_a_pipeline_is_defined_with_its_ordered_stages() -> None:
    await spec.given().when(define(), by=MANAGER).then(defined, claimed)


async def test_a_pipeline_breaking_the_stage_rules_is_refused_naming_the_stage() -> None:
    late = StageData(name="late", probability=50, forecast_category="closed")
    await (
        spec.given()
        .when(define(stages=[OPEN, late, *CLOSED]), by=MANAGER)
        .then_refused(InvalidPipeline, field="stages[1].forecast_category")
    )


async def test_a_pipeline_without_a_lost_stage_is_refused() -> None:
    await (
        spec.given()
        .when(define(stages=[OPEN, CLOSED[0]]), by=MANAGER)
        .then_refused(InvalidPipeline, field="stages")
    )


async def test_a_pipeline_is_renamed() -> None:
    await (
        spec.given(DEFINED)
        .when(ChangePipeline(record_id=PIPELINE, changes={"name": "channel"}), by=MANAGER)
        .then(
            PipelineChanged(name="channel"),
            PipelineNameReleased(key="partners", pipeline_id=PIPELINE),
            PipelineNameClaimed(name="channel", key="channel", pipeline_id=PIPELINE),
        )
    )


async def test_its_stages_are_redefined_only_within_the_rules() -> None:
    await (
        spec.given({PIPELINE: [defined]})
        .when(ChangePipeline(record_id=PIPELINE, changes={"stages": CLOSED}), by=MANAGER)
        .then_refused(InvalidPipeline, field="stages")
    )


async def test_its_stages_are_redefined() -> None:
    demo = StageData(name="demo", probability=40, forecast_category="best_case")
    await (
        spec.given(DEFINED)
        .when(
            ChangePipeline(record_id=PIPELINE, changes={"stages": [OPEN, demo, *CLOSED]}),
            by=MANAGER,
        )
        .then(PipelineChanged(stages=[OPEN, demo, *CLOSED]))
    )


async def test_an_archived_pipeline_takes_no_change() -> None:
    await (
        spec.given({PIPELINE: [defined, PipelineArchived()]})
        .when(ChangePipeline(record_id=PIPELINE, changes={"name": "channel"}), by=MANAGER)
        .then_refused(RecordArchived)
    )


async def test_a_pipeline_is_archived_with_a_reason_freeing_its_name() -> None:
    await (
        spec.given(DEFINED)
        .when(
            ArchiveRecord(record_type=PipelineRecord, record_id=PIPELINE, reason="merged"),
            by=MANAGER,
        )
        .then(
            PipelineArchived(reason="merged"),
            PipelineNameReleased(key="partners", pipeline_id=PIPELINE),
        )
    )


async def test_a_rep_does_not_define_a_pipeline() -> None:
    await spec.given().when(define(), by=REP).then_refused(PipelinesManaged)


async def test_a_rep_does_not_change_a_pipeline() -> None:
    await (
        spec.given({PIPELINE: [defined]})
        .when(ChangePipeline(record_id=PIPELINE, changes={"name": "mine"}), by=REP)
        .then_refused(PipelinesManaged)
    )


def test_reading_a_pipeline_shows_its_stages_in_order() -> None:
    given = spec.given({PIPELINE: [defined]})
    application: SalesApplication = given.application
    view = orjson.loads(application.read(PipelineRecord, PIPELINE, REP).body)
    assert [stage["name"] for stage in view["stages"]] == ["discovery", "won", "lost"]


# --- the defaults --------------------------------------------------------------------


def test_seeding_defines_both_defaults_unowned_in_the_department() -> None:
    events = undefined_defaults(InMemoryEventStore().events_of, "sales")
    assert [(e.originator_id, e.data) for e in events if e.originator_id != REGISTER_ID] == [
        (
            default_pipeline_id(pipeline),
            PipelineDefined(
                name=pipeline.name,
                stages=[stage_data(stage) for stage in pipeline.stages],
                department="sales",
            ),
        )
        for pipeline in (NEW_BUSINESS, RENEWALS)
    ]


def test_seeding_again_defines_nothing_even_when_a_default_was_renamed() -> None:
    seeded = undefined_defaults(InMemoryEventStore().events_of, "sales")
    renamed = DomainEvent(default_pipeline_id(NEW_BUSINESS), 2, PipelineChanged(name="logos"))
    store = InMemoryEventStore([*seeded, renamed])
    assert undefined_defaults(store.events_of, "sales") == []


def test_seeding_defines_only_the_defaults_not_yet_defined() -> None:
    seeded = undefined_defaults(InMemoryEventStore().events_of, "sales")
    store = InMemoryEventStore(e for e in seeded if names([e]) == ["new_business"])
    assert names(undefined_defaults(store.events_of, "sales")) == ["renewals"]


def names(events: list[DomainEvent]) -> list[str]:
    return [e.data.name for e in events if isinstance(e.data, PipelineDefined)]


def test_seeding_claims_the_defaults_names() -> None:
    events = undefined_defaults(InMemoryEventStore().events_of, "sales")
    assert [(e.originator_version, e.data) for e in events if e.originator_id == REGISTER_ID] == [
        (
            version,
            PipelineNameClaimed(
                name=pipeline.name, key=pipeline.name, pipeline_id=default_pipeline_id(pipeline)
            ),
        )
        for version, pipeline in enumerate((NEW_BUSINESS, RENEWALS), start=1)
    ]


def test_seeding_leaves_out_a_default_whose_name_another_pipeline_holds() -> None:
    other = uuid4()
    taken = PipelineNameClaimed(name="Renewals", key="renewals", pipeline_id=other)
    store = InMemoryEventStore([DomainEvent(REGISTER_ID, 1, taken)])
    assert names(undefined_defaults(store.events_of, "sales")) == ["new_business"]
