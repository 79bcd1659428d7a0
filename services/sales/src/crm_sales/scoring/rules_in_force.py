"""The scoring rules in force, for the commands that score a lead.

Registering a lead is a hot path: the rules are not decoded for every command, only when
the rule set's version moved. Asking the version is one indexed read of the stream's last
event (where the store can answer it: the real event store); a store that cannot (the
specifications' in-memory one) is read whole, which is cheap there."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from uuid import UUID

from crm_sales.domain.scoring import ScoringRule
from crm_sales.domain.scoring_rules import SCORING_RULES_ID, ScoringRuleSet
from crm_shared.eventstore.application import EventSourcedApplication
from crm_shared.records.application import RecordedEvents

VersionOf = Callable[[UUID], int]


def _stream_version(store: EventSourcedApplication) -> VersionOf:
    def version_of(aggregate_id: UUID) -> int:
        last = store.recorder.select_events(aggregate_id, desc=True, limit=1)
        return last[0].originator_version if last else 0

    return version_of


class RulesInForce:
    def __init__(self, events: RecordedEvents) -> None:
        self.events = events
        self._version_of = (
            _stream_version(events) if isinstance(events, EventSourcedApplication) else None
        )
        self._cached: ScoringRuleSet | None = None
        self._lock = threading.Lock()

    def rule_set(self) -> ScoringRuleSet:
        """The rule set as stored now (the defaults at version 0 before any put)."""
        cached = self._cached
        if (
            cached is not None
            and self._version_of is not None
            and self._version_of(SCORING_RULES_ID) == cached.version
        ):
            return cached
        events = self.events.events_of(SCORING_RULES_ID)
        found = ScoringRuleSet.project(None, events) or ScoringRuleSet.of()
        with self._lock:
            if self._cached is None or found.version >= self._cached.version:
                self._cached = found
        return found

    async def rules(self) -> tuple[ScoringRule, ...]:
        rule_set = await asyncio.to_thread(self.rule_set)
        return rule_set.rules
