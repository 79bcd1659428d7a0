"""Pipeline commands kept to unique names: each runs with the register of pipeline names
(``domain.pipeline_names``), which it also touches, so the pipeline's events and the
register's are stored in one transaction; commands naming pipelines meet at the register,
one after the other in a process, and one of two at once in two processes is refused as
a conflict (``GroupCommitter``'s ``also_touches``)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from uuid import UUID

from crm_sales.domain.pipeline_names import REGISTER_ID, PipelineNames
from crm_sales.domain.pipeline_record import PipelineRecord
from crm_shared.domain import NotFound
from crm_shared.events import EventMetadata
from crm_shared.eventstore.group_commit import CommandFn, Outcome, UnitOfWork
from crm_shared.records.application import Committer


class NamedPipelines:
    """A committer for the commands on pipelines (a ``Committer``, for a
    ``RecordsApplication``): the same commands, run with the register of names."""

    def __init__(self, committer: Committer) -> None:
        self.committer = committer

    async def submit(
        self,
        run: CommandFn,
        *,
        touches: UUID,
        creates: bool = False,
        metadata: EventMetadata,
        idempotency_key: str | None = None,
        fingerprint: str = "",
        also_touches: Sequence[UUID] = (),
        reads: tuple[UUID, ...] = (),
    ) -> Outcome:
        return await self.committer.submit(
            partial(_with_its_name, run, touches, creates),
            touches=touches,
            creates=creates,
            metadata=metadata,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            also_touches=(*also_touches, REGISTER_ID),
            reads=reads,
        )


def _with_its_name(run: CommandFn, pipeline_id: UUID, creates: bool, unit: UnitOfWork) -> Outcome:
    """Runs the pipeline's command, then keeps the register as the pipeline now is."""
    was = None if creates else unit.get(PipelineRecord, pipeline_id).name
    outcome = run(unit)  # its own copy of the pipeline replaces the one read above
    pipeline = unit.aggregates[pipeline_id]
    assert isinstance(pipeline, PipelineRecord)
    try:
        names = unit.get(PipelineNames, REGISTER_ID)
    except NotFound:
        names = PipelineNames.empty()
        unit.add(names)
    names.keep(pipeline_id, pipeline.name, archived=pipeline.archived, was=was)
    return outcome
