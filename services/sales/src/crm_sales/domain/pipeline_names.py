"""The register of pipeline names: which pipeline holds which name, so that two pipelines
not archived never share one (whatever the case).

A product's code can be its id (``domain.product``), since it never changes; a pipeline's
name does (renamed), and is free again once its pipeline is archived, so the event store
cannot keep it unique by the pipeline's id. This register is one aggregate with a fixed
id: every command on a pipeline passes through it in the same transaction as the
pipeline's own event (``crm_sales.pipeline_names``), so two managers naming pipelines
alike at the same moment meet on its version, and one of them is refused. Pipelines are
defined and renamed by people, a few in a year: its stream stays short.
"""

from __future__ import annotations

from typing import Self
from uuid import NAMESPACE_URL, UUID, uuid5

from crm_shared.catalog.sales.pipeline_names import PipelineNameClaimed, PipelineNameReleased
from crm_shared.domain import Aggregate, Conflict, applies

# Every process derives the same id, so they share the register without a lookup.
REGISTER_ID = uuid5(NAMESPACE_URL, "urn:crm:sales:pipeline-names")


def name_key(name: str) -> str:
    """What pipeline names are compared by: ``Renewals`` and `` renewals`` are one name."""
    return name.strip().casefold()


class PipelineNameTaken(Conflict):
    """Another pipeline, not archived, has this name."""

    code = "pipeline_name_taken"

    def __init__(self, message: str, *, field: str = "name") -> None:
        super().__init__(message)
        self.field = field


class PipelineNames(Aggregate):
    creation_events = (PipelineNameClaimed,)

    holders: dict[str, UUID]

    @classmethod
    def empty(cls) -> Self:
        names = cls(REGISTER_ID)
        names.holders = {}
        return names

    def holder(self, name: str) -> UUID | None:
        return self.holders.get(name_key(name))

    def keep(self, pipeline_id: UUID, name: str, *, archived: bool, was: str | None) -> None:
        """Records the pipeline as it now is (``was``: its name before the command, None
        for a new one): its name held while it is not archived, and no other. Refused if
        another pipeline holds the name."""
        key = name_key(name)
        held = [k for k, holder in self.holders.items() if holder == pipeline_id]
        wanted = () if archived else (key,)
        holder = self.holders.get(key)
        if wanted and holder is not None and holder != pipeline_id:
            if was is not None and name_key(was) == key:
                # Named so before the register existed, as was the holder: it keeps its
                # name (a change of its stages is no renaming), and does not hold it.
                return
            raise PipelineNameTaken(f"another pipeline is named {name.strip()!r}")
        for old in held:
            if old not in wanted:
                self._trigger(PipelineNameReleased(key=old, pipeline_id=pipeline_id))
        if wanted and holder != pipeline_id:
            self._trigger(PipelineNameClaimed(name=name, key=key, pipeline_id=pipeline_id))

    @applies(PipelineNameClaimed)
    def _claimed(self, e: PipelineNameClaimed) -> None:
        if self.version == 0:  # replayed from the store: the first event starts it
            self.holders = {}
        self.holders[e.key] = e.pipeline_id

    @applies(PipelineNameReleased)
    def _released(self, e: PipelineNameReleased) -> None:
        if self.holders.get(e.key) == e.pipeline_id:
            del self.holders[e.key]
