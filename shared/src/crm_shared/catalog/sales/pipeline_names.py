"""The register of pipeline names of the sales service (topic ``crm.sales.events``).

A pipeline's name is unique, whatever the case, among the pipelines not archived. One
register (a stream of its own, with a fixed id) records which pipeline holds which name:
a pipeline claims its name when it is defined or renamed, in the same transaction as its
own event, and releases it when it is renamed or archived. Consumers may ignore these
events: every pipeline event still carries its name.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from crm_shared.events.catalog import EventData, event_type

_PIPELINE_EXAMPLE = "1e2d3c4b-5a69-4788-9a6b-5c4d3e2f1a0b"


@event_type("sales", "pipeline_name", "claimed")
class PipelineNameClaimed(EventData):
    """A pipeline now holds a name: no other pipeline not archived may take it."""

    name: str = Field(description="As the pipeline spells it")
    key: str = Field(description="What names are compared by: trimmed and case-folded")
    pipeline_id: UUID
    example = {"name": "New_Business", "key": "new_business", "pipeline_id": _PIPELINE_EXAMPLE}


@event_type("sales", "pipeline_name", "released")
class PipelineNameReleased(EventData):
    """A pipeline no longer holds a name (renamed or archived): it is free again."""

    key: str = Field(description="Trimmed and case-folded")
    pipeline_id: UUID
    example = {"key": "new_business", "pipeline_id": _PIPELINE_EXAMPLE}
