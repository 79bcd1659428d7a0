"""The use cases of pipelines and opportunities, beside those every CRM record has.

Opening a deal and every command that needs its pipeline's stages load the pipeline first
(the aggregates do no I/O), then run as every record's commands do: the policy, the
references, the expected version and group commit are ``RecordsApplication``'s. Commands
on pipelines run with the register of their names (``crm_sales.pipeline_names``)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from functools import cached_property
from typing import Any
from uuid import UUID

from crm_sales.deal_commands import (
    DefinePipeline,
    OpenOpportunity,
    PipelineCommand,
    check_manages_pipelines,
)
from crm_sales.deal_views import OpportunityView, PipelineView
from crm_sales.domain.opportunity import Opportunity
from crm_sales.domain.pipeline_names import REGISTER_ID, PipelineNames
from crm_sales.domain.pipeline_record import PipelineRecord
from crm_sales.pipeline_names import NamedPipelines
from crm_shared.auth.policy import Action, allows, vet_references
from crm_shared.auth.principal import Principal
from crm_shared.commands import CommandContext
from crm_shared.eventstore.group_commit import Outcome
from crm_shared.records.application import RecordsApplication
from crm_shared.records.commands import CreateRecord, RecordCommand
from crm_shared.records.views import RecordKind

PIPELINE = RecordKind(PipelineRecord, PipelineView)
OPPORTUNITY = RecordKind(Opportunity, OpportunityView)


# Deals whose pipeline a process remembers (about 200 bytes each).
REMEMBERED_DEALS = 100_000


class DealUseCases(RecordsApplication):
    _pipeline_ids: dict[UUID, UUID]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pipeline_ids = {}

    async def handle(
        self, command: CreateRecord[Any] | RecordCommand[Any], context: CommandContext
    ) -> Outcome:
        if command.record_type is PipelineRecord:
            if isinstance(command, DefinePipeline):
                check_manages_pipelines(context.principal)
            return await self.pipelines.handle(command, context)
        match command:
            case OpenOpportunity():
                return await self.open_opportunity(command, context)
            case PipelineCommand():
                pipeline_id = await self.pipeline_id_of(command.record_id)
                return await super().handle(replace(command, pipeline_id=pipeline_id), context)
        return await super().handle(command, context)

    @cached_property
    def pipelines(self) -> RecordsApplication:
        """The commands on pipelines, each run with the register of their names, which
        keeps the names unique (``crm_sales.pipeline_names``)."""
        committer = NamedPipelines(self.committer)
        return RecordsApplication(self.events, committer, [PIPELINE], self.resolver)

    async def open_opportunity(self, command: OpenOpportunity, context: CommandContext) -> Outcome:
        # The pipeline must be one the caller sees and not archived (422 naming
        # pipeline_id otherwise), and its stages decide the deal's first values.
        refusals = await vet_references(
            context.principal, command.references().values(), self.resolver
        )
        if refusals:
            raise next(iter(refusals.values()))
        pipeline_id: UUID = command.values["pipeline_id"]
        pipeline = await asyncio.to_thread(self.load, PipelineRecord, pipeline_id)
        values = Opportunity.opening(pipeline_id, pipeline.definition, command.values)
        outcome = await super().handle(replace(command, values=values), context)
        self._remember_pipeline(command.record_id, pipeline_id)
        return outcome

    def pipelines_in_sight(self, principal: Principal) -> list[PipelineRecord]:
        """The pipelines not archived that the caller may read, by name: those the register
        of names holds (a department has a few; each is loaded)."""
        register = PipelineNames.project(None, self.events.events_of(REGISTER_ID))
        held = sorted(register.holders.items()) if register is not None else []
        pipelines = [self.load(PipelineRecord, pipeline_id) for _, pipeline_id in held]
        return [p for p in pipelines if not p.archived and allows(principal, Action.READ, p.scope)]

    async def pipeline_id_of(self, opportunity_id: UUID) -> UUID:
        """The deal's pipeline's id. A deal never moves to another pipeline, so once known
        it is remembered: a stage change then reads the pipeline's definition in its own
        batch, beside the deal, in the batch's one query. The deal may be out of the
        caller's sight: the command refuses that as it refuses any other (404)."""
        pipeline_id = self._pipeline_ids.get(opportunity_id)
        if pipeline_id is None:
            deal = await asyncio.to_thread(self.load, Opportunity, opportunity_id)
            pipeline_id = deal.pipeline_id
            self._remember_pipeline(opportunity_id, pipeline_id)
        return pipeline_id

    def _remember_pipeline(self, opportunity_id: UUID, pipeline_id: UUID) -> None:
        if len(self._pipeline_ids) >= REMEMBERED_DEALS:
            self._pipeline_ids.pop(next(iter(self._pipeline_ids)))  # the oldest
        self._pipeline_ids[opportunity_id] = pipeline_id
