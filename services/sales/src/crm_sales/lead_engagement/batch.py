"""What a batch tells of engagement, conversions and rescoring: pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from crm_sales.domain.scoring import EngagementKind
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


class Engaged(NamedTuple):
    """Someone engaged, as the event ``source_event_id`` told: a lead, or a contact."""

    who: UUID
    kind: EngagementKind
    at: datetime
    source_event_id: UUID


@dataclass
class Batch:
    by_lead: list[Engaged] = field(default_factory=list)
    by_contact: list[Engaged] = field(default_factory=list)
    # lead -> the contact it became
    converted: dict[UUID, UUID] = field(default_factory=dict)
    registered: set[UUID] = field(default_factory=set)
    # lead -> when its score next changes (its last score change in the batch)
    rescore_at: dict[UUID, datetime | None] = field(default_factory=dict)
    erased: set[UUID] = field(default_factory=set)
    # When the last rule set of the batch was put: every lead is due from then.
    rules_put_at: datetime | None = None


def _engaged(batch: Batch, event: ReceivedEvent[EventData], kind: EngagementKind) -> None:
    data = event.data
    assert isinstance(data, CampaignResponseRecorded | FormSubmitted)
    if data.lead_id is not None:
        batch.by_lead.append(Engaged(data.lead_id, kind, data.occurred_at, event.event_id))
    elif data.contact_id is not None:
        batch.by_contact.append(Engaged(data.contact_id, kind, data.occurred_at, event.event_id))


def batch_of(events: Sequence[ReceivedEvent[EventData]]) -> Batch:
    batch = Batch()
    for event in events:
        match event.data:
            case CampaignResponseRecorded():
                _engaged(batch, event, EngagementKind.CAMPAIGN_RESPONSE)
            case FormSubmitted():
                _engaged(batch, event, EngagementKind.FORM_SUBMISSION)
            case ContactInteractionLogged(occurred_at=occurred_at):
                batch.by_contact.append(
                    Engaged(
                        event.aggregate_id,
                        EngagementKind.INTERACTION_LOGGED,
                        occurred_at,
                        event.event_id,
                    )
                )
            case LeadRegistered():
                batch.registered.add(event.aggregate_id)
            case LeadConverted(contact_id=contact_id):
                batch.converted[event.aggregate_id] = contact_id
            case LeadScoreChanged(rescore_at=rescore_at):
                batch.rescore_at[event.aggregate_id] = rescore_at
            case LeadErased():
                batch.erased.add(event.aggregate_id)
            case ScoringRulesSet():
                if batch.rules_put_at is None or event.time > batch.rules_put_at:
                    batch.rules_put_at = event.time
    return batch
