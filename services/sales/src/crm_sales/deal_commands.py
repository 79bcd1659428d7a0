"""The sales service's commands on pipelines and opportunities. Archiving a pipeline and
reassigning a deal are the generic ``crm_shared.records.commands``.

A command on a deal that needs its pipeline's stages says so (``PipelineCommand``): the
use cases hand it the pipeline as it is defined now, loaded before the command runs, so
that the aggregate stays free of I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Self
from uuid import UUID

from crm_sales.domain.opportunity import Opportunity
from crm_sales.domain.pipeline import Pipeline
from crm_sales.domain.pipeline_record import PipelineRecord
from crm_shared.auth.policy import Reference, may_leave_unowned
from crm_shared.auth.principal import Principal
from crm_shared.domain import Forbidden
from crm_shared.records.commands import ArchiveRecord, ChangeRecord, CreateRecord, RecordCommand

if TYPE_CHECKING:
    from crm_shared.eventstore.group_commit import UnitOfWork


@dataclass(frozen=True, kw_only=True, repr=False)
class DefinePipeline(CreateRecord[PipelineRecord]):
    """A pipeline of ``department`` (None: the caller's); it has no owner."""

    record_type: type[PipelineRecord] = field(default=PipelineRecord, init=False)
    owner: str | None = field(default=None, init=False)


class PipelinesManaged(Forbidden):
    """Every rep of a department works in its pipelines; its managers define them."""


def check_manages_pipelines(principal: Principal) -> None:
    # Pipelines are unowned, which the policy opens to every rep of the department; their
    # stages shape everyone's forecast, so they are a manager's, like an unowned record's
    # creation is (``may_leave_unowned``).
    if not may_leave_unowned(principal):
        raise PipelinesManaged(f"role {principal.role} may not define or change pipelines")


@dataclass(frozen=True, kw_only=True, repr=False)
class ChangePipeline(ChangeRecord[PipelineRecord]):
    record_type: type[PipelineRecord] = field(default=PipelineRecord, init=False)

    def check(self, principal: Principal, record: PipelineRecord) -> None:
        check_manages_pipelines(principal)


@dataclass(frozen=True, kw_only=True)
class ArchivePipeline(ArchiveRecord[PipelineRecord]):
    record_type: type[PipelineRecord] = field(default=PipelineRecord, init=False)

    def check(self, principal: Principal, record: PipelineRecord) -> None:
        check_manages_pipelines(principal)


@dataclass(frozen=True, kw_only=True, repr=False)
class OpenOpportunity(CreateRecord[Opportunity]):
    """Opens a deal in the pipeline its values name (``pipeline_id``)."""

    record_type: type[Opportunity] = field(default=Opportunity, init=False)
    # Records the contacts service has just answered it created, for this deal to name (a
    # lead's conversion): they exist, though the read model of them may not know them yet.
    # Never set from a request.
    vouched_for: frozenset[UUID] = frozenset()

    def references(self) -> dict[str, Reference]:
        made = super().references()
        return {name: r for name, r in made.items() if r.target not in self.vouched_for}


@dataclass(frozen=True, kw_only=True, repr=False)
class PipelineCommand(RecordCommand[Opportunity]):
    record_type: type[Opportunity] = field(default=Opportunity, init=False)
    # Filled in by the use cases, never by the caller: the deal's pipeline's id (its
    # definition is then read in the command's batch), or the definition itself.
    pipeline_id: UUID | None = field(default=None, repr=False)
    pipeline: Pipeline | None = field(default=None, repr=False)

    def reads(self) -> tuple[UUID, ...]:
        return () if self.pipeline_id is None else (self.pipeline_id,)

    def reading(self, unit: UnitOfWork) -> Self:
        if self.pipeline_id is None:
            return self
        return replace(self, pipeline=unit.get(PipelineRecord, self.pipeline_id).definition)

    @property
    def stages(self) -> Pipeline:
        if self.pipeline is None:
            raise LookupError(f"{type(self).__name__} ran without its deal's pipeline")
        return self.pipeline


@dataclass(frozen=True, kw_only=True, repr=False)
class ChangeOpportunity(PipelineCommand, ChangeRecord[Opportunity]):
    def apply(self, record: Opportunity) -> None:
        record.change(self.changes, self.stages)


@dataclass(frozen=True, kw_only=True)
class MoveOpportunity(PipelineCommand):
    stage: str

    def apply(self, record: Opportunity) -> None:
        record.move_to(self.stage, self.stages)


@dataclass(frozen=True, kw_only=True)
class WinOpportunity(PipelineCommand):
    closed_on: date

    def apply(self, record: Opportunity) -> None:
        record.win(self.stages, self.closed_on)


@dataclass(frozen=True, kw_only=True)
class LoseOpportunity(PipelineCommand):
    # Free text a rep typed: kept out of the command's description (and so of the logs).
    reason: str = field(repr=False)
    closed_on: date

    def apply(self, record: Opportunity) -> None:
        record.lose(self.stages, self.reason, self.closed_on)
