"""The two pipelines a fresh install starts with, new business and renewals
(``domain.pipeline``), defined by `crm sales seed-pipelines`.

Each default has a fixed id, derived from its name, so seeding is idempotent: a default
already defined (and perhaps since renamed, redefined or archived) is left as it is, and
two operators seeding at once cannot define it twice (the second insert of the same
record's first version fails in the event store). Their names are claimed in the register
of pipeline names (``domain.pipeline_names``) with them, so no pipeline defined later takes
one; a default whose name another pipeline already holds is left out."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid5

from crm_sales.domain.pipeline import NEW_BUSINESS, RENEWALS, Pipeline
from crm_sales.domain.pipeline_names import REGISTER_ID, PipelineNames
from crm_sales.domain.pipeline_record import PipelineRecord, stage_data
from crm_shared.catalog.sales.opportunities import PipelineDefined
from crm_shared.events import DomainEvent, EventMetadata

DEFAULTS = (NEW_BUSINESS, RENEWALS)
# The namespace of the defaults' ids (a fixed, random UUID: never change it).
NAMESPACE = UUID("6c1f3d0e-9a4b-4f8e-b2d7-5e0a9c3b7f41")
SEEDED_BY = EventMetadata(actor="system:seed-pipelines")


def default_pipeline_id(pipeline: Pipeline) -> UUID:
    return uuid5(NAMESPACE, pipeline.name)


def undefined_defaults(
    events_of: Callable[[UUID], list[DomainEvent]], department: str
) -> list[DomainEvent]:
    """The events that define the defaults not yet defined, in ``department``, and claim
    their names."""
    events: list[DomainEvent] = []
    names = PipelineNames.project(None, events_of(REGISTER_ID)) or PipelineNames.empty()
    for pipeline in DEFAULTS:
        pipeline_id = default_pipeline_id(pipeline)
        if events_of(pipeline_id) or names.holder(pipeline.name) is not None:
            continue
        record = PipelineRecord.create(
            pipeline_id,
            PipelineDefined(
                name=pipeline.name,
                stages=[stage_data(stage) for stage in pipeline.stages],
                department=department,
            ),
        )
        names.keep(pipeline_id, pipeline.name, archived=False, was=None)
        events.extend(record.collect_events())
    events.extend(names.collect_events())
    for event in events:
        event.metadata = SEEDED_BY
    return events
