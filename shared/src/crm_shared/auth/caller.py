"""The caller of a command: who they are, and what their events will record about it."""

from __future__ import annotations

from dataclasses import dataclass

from crm_shared.auth.principal import Principal
from crm_shared.events import EventMetadata


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    metadata: EventMetadata
