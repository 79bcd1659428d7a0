"""The engagement read model's tables, and engaging the leads a batch makes known.

A batch stores what it tells, then engages, through the service's own commands
(``Engager``, outside the batch's transaction), every lead it names and every lead
converted into a contact it names (or converted in it into a contact named before). If
the batch then fails, it is applied again and engages again, which records nothing the
second time (``Lead.engage`` counts a source event once)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Self

from crm_sales.domain.scoring import EngagementKind
from crm_sales.lead_engagement import SCHEMA
from crm_sales.lead_engagement.batch import Engaged, batch_of
from crm_shared.catalog.contacts import ContactInteractionLogged
from crm_shared.catalog.marketing import CampaignResponseRecorded, FormSubmitted
from crm_shared.catalog.sales.leads import (
    LeadConverted,
    LeadErased,
    LeadRegistered,
    LeadScoreChanged,
)
from crm_shared.catalog.sales.scoring_rules import ScoringRulesSet
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.messaging.topics import events_topic
from crm_shared.projections import ReadModel

if TYPE_CHECKING:
    from psycopg import AsyncConnection

log = logging.getLogger(__name__)

# Engages a lead (``Engaged.who``) as the event told.
Engager = Callable[[Engaged], Awaitable[None]]


class LeadEngagement(ReadModel):
    name = "lead_engagement"
    topics = (events_topic("sales"), events_topic("contacts"), events_topic("marketing"))
    handles = (
        CampaignResponseRecorded,
        FormSubmitted,
        ContactInteractionLogged,
        LeadRegistered,
        LeadConverted,
        LeadScoreChanged,
        LeadErased,
        ScoringRulesSet,
    )
    schema = SCHEMA
    tables = ("converted_leads", "contact_engagements", "rescoring")

    def __init__(
        self, schema: str | None = None, *, indexed: bool = True, engager: Engager | None = None
    ) -> None:
        super().__init__(schema, indexed=indexed)
        self.engager = engager
        converted = f'"{self.schema}".converted_leads'
        engagements = f'"{self.schema}".contact_engagements'
        self.rescoring = rescoring = f'"{self.schema}".rescoring'
        self.ddl = (
            f"CREATE TABLE IF NOT EXISTS {converted} ("
            " lead_id uuid PRIMARY KEY, contact_id uuid NOT NULL)",
            # Kept whether or not a lead became the contact (yet): the conversion may be
            # read after the engagement.
            f"CREATE TABLE IF NOT EXISTS {engagements} ("
            " source_event_id uuid PRIMARY KEY, contact_id uuid NOT NULL,"
            " kind text NOT NULL, at timestamptz NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {rescoring} ("
            " lead_id uuid PRIMARY KEY, rescore_at timestamptz,"
            " erased boolean NOT NULL DEFAULT false)",
        )
        self.indexes = (
            f"CREATE INDEX IF NOT EXISTS converted_leads_contact ON {converted} (contact_id)",
            f"CREATE INDEX IF NOT EXISTS contact_engagements_contact ON {engagements} (contact_id)",
            f"CREATE INDEX IF NOT EXISTS rescoring_due ON {rescoring} (rescore_at)"
            " WHERE rescore_at IS NOT NULL AND NOT erased",
        )
        self.insert_converted = (
            f"INSERT INTO {converted} (lead_id, contact_id) VALUES (%s, %s)"
            " ON CONFLICT (lead_id) DO NOTHING"
        )
        self.insert_engagement = (
            f"INSERT INTO {engagements} (contact_id, kind, at, source_event_id)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
        )
        self.select_engaged = (
            f"SELECT l.lead_id, e.kind, e.at, e.source_event_id FROM {engagements} e"
            f" JOIN {converted} l USING (contact_id)"
            " WHERE e.source_event_id = ANY(%s) OR l.lead_id = ANY(%s)"
            " ORDER BY e.at, e.source_event_id"
        )
        self.insert_lead = (
            f"INSERT INTO {rescoring} (lead_id) VALUES (%s) ON CONFLICT (lead_id) DO NOTHING"
        )
        self.set_rescore_at = (
            f"INSERT INTO {rescoring} (lead_id, rescore_at) VALUES (%s, %s)"
            " ON CONFLICT (lead_id) DO UPDATE SET rescore_at = EXCLUDED.rescore_at"
        )
        self.mark_erased = (
            f"INSERT INTO {rescoring} (lead_id, rescore_at, erased) VALUES (%s, NULL, true)"
            " ON CONFLICT (lead_id) DO UPDATE SET rescore_at = NULL, erased = true"
        )
        self.all_due = f"UPDATE {rescoring} SET rescore_at = %s WHERE NOT erased"

    def in_schema(self, schema: str, *, indexed: bool = True) -> Self:
        return type(self)(schema, indexed=indexed, engager=self.engager)

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        batch = batch_of(events)
        async with conn.cursor() as cur:
            if batch.converted:
                await cur.executemany(self.insert_converted, list(batch.converted.items()))
            if batch.by_contact:
                await cur.executemany(
                    self.insert_engagement,
                    [(e.who, e.kind.value, e.at, e.source_event_id) for e in batch.by_contact],
                )
            if batch.registered:
                await cur.executemany(self.insert_lead, [(lead,) for lead in batch.registered])
            if batch.rescore_at:
                await cur.executemany(self.set_rescore_at, list(batch.rescore_at.items()))
            if batch.erased:
                await cur.executemany(self.mark_erased, [(lead,) for lead in batch.erased])
            if batch.rules_put_at is not None:
                # Every lead is due: rescoring one the new rules leave as it was records
                # nothing, so being generous costs only the look.
                await cur.execute(self.all_due, [batch.rules_put_at])
            engaged = list(batch.by_lead)
            if batch.by_contact or batch.converted:
                sources = [e.source_event_id for e in batch.by_contact]
                await cur.execute(self.select_engaged, [sources, list(batch.converted)])
                engaged += [
                    Engaged(lead, EngagementKind(kind), at, source)
                    for lead, kind, at, source in await cur.fetchall()
                ]
        for engagement in engaged:
            if self.engager is None:  # a copy built without the service (a rebuild)
                log.warning("lead %s engaged; no engager here", engagement.who)
                continue
            await self.engager(engagement)
