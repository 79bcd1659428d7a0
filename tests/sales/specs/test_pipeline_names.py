"""Pipeline names are unique, whatever the case, among the pipelines not archived: the
register of names (``domain.pipeline_names``) is kept with every command on a pipeline."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from crm_sales.application import SalesApplication
from crm_sales.deal_commands import ChangePipeline, DefinePipeline
from crm_sales.domain.pipeline_names import REGISTER_ID, PipelineNameTaken
from crm_sales.domain.pipeline_record import PipelineRecord
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.sales.opportunities import (
    PipelineArchived,
    PipelineChanged,
    PipelineDefined,
    StageData,
)
from crm_shared.catalog.sales.pipeline_names import PipelineNameClaimed, PipelineNameReleased
from crm_shared.records.commands import ArchiveRecord
from crm_shared.specs import Specification
from tests.sales.specs.contact_records import NONE_KNOWN

spec = Specification(lambda store: SalesApplication(store, store, contacts=NONE_KNOWN))

MANAGER = Principal("mia", Role.MANAGER, ("sales",))
STAGES = [
    StageData(name="discovery", probability=10, forecast_category="pipeline"),
    StageData(name="won", probability=100, forecast_category="closed", outcome="won"),
    StageData(name="lost", probability=0, forecast_category="omitted", outcome="lost"),
]
PARTNERS, CHANNEL, NEW = uuid4(), uuid4(), uuid4()


def defined(name: str) -> PipelineDefined:
    return PipelineDefined(name=name, stages=STAGES, department="sales")


def claimed(name: str, pipeline_id: Any) -> PipelineNameClaimed:
    return PipelineNameClaimed(name=name, key=name.strip().casefold(), pipeline_id=pipeline_id)


# Two pipelines as they are defined now, their names held.
TWO = {
    PARTNERS: [defined("partners")],
    CHANNEL: [defined("channel")],
    REGISTER_ID: [claimed("partners", PARTNERS), claimed("channel", CHANNEL)],
}


def define(name: str) -> DefinePipeline:
    return DefinePipeline(record_id=NEW, values={"name": name, "stages": STAGES})


def rename(pipeline_id: Any, name: str) -> ChangePipeline:
    return ChangePipeline(record_id=pipeline_id, changes={"name": name})


async def test_a_name_another_pipeline_has_is_refused_naming_the_name() -> None:
    refused = (
        await spec.given(TWO).when(define("partners"), by=MANAGER).then_refused(PipelineNameTaken)
    )
    assert (refused.code, refused.field) == ("pipeline_name_taken", "name")


async def test_names_are_compared_whatever_their_case_and_surrounding_spaces() -> None:
    await spec.given(TWO).when(define("  PARTNERS "), by=MANAGER).then_refused(PipelineNameTaken)


async def test_renaming_to_another_pipelines_name_is_refused() -> None:
    await (
        spec.given(TWO)
        .when(rename(CHANNEL, "Partners"), by=MANAGER)
        .then_refused(PipelineNameTaken)
    )


async def test_a_pipeline_is_renamed_to_its_own_name_in_another_case() -> None:
    await (
        spec.given(TWO)
        .when(rename(PARTNERS, "Partners"), by=MANAGER)
        .then(PipelineChanged(name="Partners"))
    )


async def test_a_name_given_up_by_renaming_is_free_again() -> None:
    renamed = {
        **TWO,
        CHANNEL: [defined("channel"), PipelineChanged(name="resellers")],
        REGISTER_ID: [
            *TWO[REGISTER_ID],
            PipelineNameReleased(key="channel", pipeline_id=CHANNEL),
            claimed("resellers", CHANNEL),
        ],
    }
    await (
        spec.given(renamed)
        .when(define("channel"), by=MANAGER)
        .then(defined("channel"), claimed("channel", NEW))
    )


async def test_the_name_of_an_archived_pipeline_is_free_again() -> None:
    archived = {
        **TWO,
        PARTNERS: [defined("partners"), PipelineArchived()],
        REGISTER_ID: [
            *TWO[REGISTER_ID],
            PipelineNameReleased(key="partners", pipeline_id=PARTNERS),
        ],
    }
    await (
        spec.given(archived)
        .when(define("Partners"), by=MANAGER)
        .then(defined("Partners"), claimed("Partners", NEW))
    )


async def test_archiving_a_pipeline_frees_its_name() -> None:
    await (
        spec.given(TWO)
        .when(ArchiveRecord(record_type=PipelineRecord, record_id=CHANNEL), by=MANAGER)
        .then(PipelineArchived(), PipelineNameReleased(key="channel", pipeline_id=CHANNEL))
    )


DEMO = StageData(name="demo", probability=40, forecast_category="best_case")


async def test_a_pipeline_named_before_the_register_claims_its_name_when_changed() -> None:
    stages = [STAGES[0], DEMO, *STAGES[1:]]
    await (
        spec.given({PARTNERS: [defined("partners")]})
        .when(ChangePipeline(record_id=PARTNERS, changes={"stages": stages}), by=MANAGER)
        .then(PipelineChanged(stages=stages), claimed("partners", PARTNERS))
    )


async def test_a_duplicate_named_before_the_register_keeps_its_name_through_a_change() -> None:
    # Two pipelines were named alike before names were kept unique: the one not holding
    # the name may still have its stages changed (a change that is no renaming).
    older = uuid4()
    stages = [STAGES[0], DEMO, *STAGES[1:]]
    await (
        spec.given({**TWO, older: [defined("partners")]})
        .when(ChangePipeline(record_id=older, changes={"stages": stages}), by=MANAGER)
        .then(PipelineChanged(stages=stages))
    )
