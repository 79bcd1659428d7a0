"""What a batch of other services' events tells of engagement: an event naming a lead
engages it, one naming only a contact engages the lead that contact came from (found by
the read model), and a rule set put makes every lead due for rescoring."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from crm_sales.domain.scoring import EngagementKind
from crm_sales.lead_engagement.batch import Engaged, batch_of
from crm_shared.catalog.contacts import ContactInteractionLogged
from crm_shared.catalog.marketing import CampaignResponseRecorded, FormSubmitted
from crm_shared.catalog.sales.leads import LeadConverted, LeadScoreChanged
from crm_shared.catalog.sales.scoring_rules import ScoringRulesSet
from crm_shared.events import EventData, ReceivedEvent

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def received(data: EventData, aggregate_id: UUID | None = None) -> ReceivedEvent[EventData]:
    return ReceivedEvent(
        uuid4(), aggregate_id or uuid4(), 1, AT, None, None, data.type_name, "t", 0, 0, data
    )


def test_a_form_naming_a_lead_engages_that_lead() -> None:
    lead, contact = uuid4(), uuid4()
    event = received(
        FormSubmitted(form_id=uuid4(), lead_id=lead, contact_id=contact, occurred_at=AT)
    )
    batch = batch_of([event])
    assert batch.by_lead == [Engaged(lead, EngagementKind.FORM_SUBMISSION, AT, event.event_id)]
    assert batch.by_contact == []


def test_a_campaign_response_naming_only_a_contact_engages_by_the_contact() -> None:
    contact = uuid4()
    event = received(
        CampaignResponseRecorded(campaign_id=uuid4(), contact_id=contact, occurred_at=AT)
    )
    batch = batch_of([event])
    assert batch.by_contact == [
        Engaged(contact, EngagementKind.CAMPAIGN_RESPONSE, AT, event.event_id)
    ]


def test_an_event_naming_no_one_engages_no_one() -> None:
    batch = batch_of([received(FormSubmitted(form_id=uuid4(), occurred_at=AT))])
    assert (batch.by_lead, batch.by_contact) == ([], [])


def test_an_interaction_logged_with_a_contact_engages_by_the_contact() -> None:
    contact = uuid4()
    logged = ContactInteractionLogged(
        interaction_id=uuid4(), channel="phone", direction="inbound", occurred_at=AT
    )
    event = received(logged, contact)
    assert batch_of([event]).by_contact == [
        Engaged(contact, EngagementKind.INTERACTION_LOGGED, AT, event.event_id)
    ]


def test_conversions_and_due_instants_are_kept_by_lead() -> None:
    lead, contact = uuid4(), uuid4()
    batch = batch_of(
        [
            received(LeadConverted(contact_id=contact), lead),
            received(LeadScoreChanged(score=5, rescore_at=AT), lead),
        ]
    )
    assert (batch.converted, batch.rescore_at) == ({lead: contact}, {lead: AT})


def test_a_rule_set_put_makes_every_lead_due_from_then() -> None:
    assert batch_of([received(ScoringRulesSet())]).rules_put_at == AT
