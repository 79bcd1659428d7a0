"""Pipeline commands kept to unique names: each runs with the register of pipeline names
(``domain.pipeline_names``) and stores the pipeline's events and the register's in one
transaction.

Group commit loads one aggregate per command, the one it ``touches``: here that is the
register, so that commands naming pipelines meet there, one after the other. The
pipeline's own events are read just before (a new pipeline has none), and the event
store still guards them: were the pipeline changed in between, its next version would be
taken and the whole transaction refused; the command is then run again on the pipeline
as it now is.
"""

from __future__ import annotations

import asyncio
from functools import partial
from uuid import UUID

from crm_sales.domain.pipeline_names import REGISTER_ID, PipelineNames
from crm_sales.domain.pipeline_record import PipelineRecord
from crm_shared.domain import NotFound
from crm_shared.events import DomainEvent, EventMetadata
from crm_shared.eventstore.group_commit import (
    CommandFn,
    ConcurrencyConflict,
    Outcome,
    UnitOfWork,
)
from crm_shared.records.application import Committer, RecordedEvents

# A pipeline changed by someone else between reading it and storing: read it again. A
# command on pipelines is a person's, rare: a few attempts are plenty.
ATTEMPTS = 3


class NamedPipelines:
    """A committer for the commands on pipelines (a ``Committer``, for a
    ``RecordsApplication``): the same commands, run with the register of names."""

    def __init__(self, committer: Committer, events: RecordedEvents) -> None:
        self.committer = committer
        self.events = events

    async def submit(
        self,
        run: CommandFn,
        *,
        touches: UUID,
        creates: bool = False,
        metadata: EventMetadata,
        idempotency_key: str | None = None,
        fingerprint: str = "",
        reads: tuple[UUID, ...] = (),
    ) -> Outcome:
        for attempt in range(1, ATTEMPTS + 1):
            stored = [] if creates else await asyncio.to_thread(self.events.events_of, touches)
            try:
                return await self.committer.submit(
                    partial(_with_its_name, run, touches, creates, stored),
                    touches=REGISTER_ID,
                    metadata=metadata,
                    idempotency_key=idempotency_key,
                    fingerprint=fingerprint,
                    reads=reads,
                )
            except ConcurrencyConflict:
                # A new pipeline whose id is taken stays refused: only a change is retried.
                if creates or attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")


def _with_its_name(
    run: CommandFn,
    pipeline_id: UUID,
    creates: bool,
    stored: list[DomainEvent],
    unit: UnitOfWork,
) -> Outcome:
    """Runs the pipeline's command, then keeps the register as the pipeline now is."""
    before = None if creates else PipelineRecord.project(None, stored)
    own = UnitOfWork({} if creates else {pipeline_id: stored})
    outcome = run(own)
    pipeline = own.aggregates[pipeline_id]
    assert isinstance(pipeline, PipelineRecord)
    unit.add(pipeline)  # its events first, then the register's
    try:
        names = unit.get(PipelineNames, REGISTER_ID)
    except NotFound:
        names = PipelineNames.empty()
        unit.add(names)
    was = before.name if before is not None else None
    names.keep(pipeline_id, pipeline.name, archived=pipeline.archived, was=was)
    return outcome
