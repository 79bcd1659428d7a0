"""A lead's engagement, told by other services' events: each source event counts once,
however often it is delivered, and rescores the lead; the sweeper's rescoring records the
decayed score only when more than the decayed amounts moved; and the commands that score
a lead use the rule set in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

from crm_sales.application import SalesApplication
from crm_sales.commands import RegisterLead
from crm_sales.domain.lead import Lead
from crm_sales.domain.scoring import EngagementKind, EngagementRule, JobTitleRule
from crm_sales.domain.scoring_rules import SCORING_RULES_ID
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.sales.leads import (
    LeadEngaged,
    LeadRegistered,
    LeadScoreChanged,
    ScoreReason,
)
from crm_shared.catalog.sales.scoring_rules import ScoringRuleData, ScoringRulesSet
from crm_shared.events import EventData
from crm_shared.specs import Specification

DAY = timedelta(days=1)
FORM = EngagementRule("form submitted", 30, EngagementKind.FORM_SUBMISSION, 14 * DAY)
TITLE = JobTitleRule("decision maker", 20, ("CTO",))
RULES = (TITLE, FORM)
OWNER = Principal("rita", Role.SALES_REP, ("sales",))

spec = Specification(lambda store: SalesApplication(store, store))


def a_lead(**fields: Any) -> Lead:
    details = LeadRegistered(owner="rita", department="sales", **fields)
    lead = Lead.create(uuid4(), details, RULES)
    lead.collect_events()
    return lead


def recorded(lead: Lead) -> list[EventData]:
    return [event.data for event in lead.collect_events()]


def test_an_engagement_is_counted_and_rescores_the_lead_with_its_reason() -> None:
    lead, at, source = a_lead(job_title="CTO"), datetime.now(UTC), uuid4()
    lead.engage(EngagementKind.FORM_SUBMISSION, at, source, RULES)
    engaged, scored = recorded(lead)
    assert engaged == LeadEngaged(kind="form_submission", at=at, source_event_id=source)
    assert isinstance(scored, LeadScoreChanged)
    assert scored.score == 50
    assert scored.reasons == [
        ScoreReason(rule="decision maker", points=Decimal(20)),
        ScoreReason(rule="form submitted", points=Decimal("30.00"), when=at),
    ]


def test_a_scored_engagement_says_when_the_score_will_next_change() -> None:
    lead, at = a_lead(), datetime.now(UTC)
    lead.engage(EngagementKind.FORM_SUBMISSION, at, uuid4(), RULES)
    assert lead.rescore_at is not None and at < lead.rescore_at < at + 14 * DAY


def test_the_same_source_event_delivered_twice_is_counted_once() -> None:
    lead, source = a_lead(), uuid4()
    lead.engage(EngagementKind.FORM_SUBMISSION, datetime.now(UTC), source, RULES)
    lead.collect_events()
    lead.engage(EngagementKind.FORM_SUBMISSION, datetime.now(UTC), source, RULES)
    assert recorded(lead) == []
    assert lead.score == 30


def test_a_converted_lead_still_counts_engagement() -> None:
    lead = a_lead()
    lead.convert(contact_id=uuid4(), account_id=None, opportunity_id=None)
    lead.engage(EngagementKind.FORM_SUBMISSION, datetime.now(UTC), uuid4(), RULES)
    assert lead.score == 30


def test_an_erased_lead_counts_no_engagement() -> None:
    lead = a_lead()
    lead.erase()
    lead.collect_events()
    lead.engage(EngagementKind.FORM_SUBMISSION, datetime.now(UTC), uuid4(), RULES)
    assert recorded(lead) == []


def test_rescoring_after_a_half_life_records_the_decayed_score() -> None:
    lead, at = a_lead(job_title="CTO"), datetime.now(UTC)
    lead.engage(EngagementKind.FORM_SUBMISSION, at, uuid4(), RULES)
    lead.collect_events()
    lead.rescore(RULES, at + 14 * DAY)
    (scored,) = recorded(lead)
    assert isinstance(scored, LeadScoreChanged)
    assert scored.score == 35
    assert scored.reasons[1] == ScoreReason(rule="form submitted", points=Decimal(15), when=at)
    assert scored.rescore_at is not None and scored.rescore_at > at + 14 * DAY


def test_rescoring_before_the_score_moves_records_nothing() -> None:
    lead, at = a_lead(), datetime.now(UTC)
    lead.engage(EngagementKind.FORM_SUBMISSION, at, uuid4(), RULES)
    lead.collect_events()
    assert lead.rescore_at is not None
    lead.rescore(RULES, lead.rescore_at - timedelta(seconds=1))
    assert recorded(lead) == []


def test_rescoring_by_other_rules_records_the_score_they_give() -> None:
    lead = a_lead(job_title="CTO")
    lead.rescore((JobTitleRule("c-level", 40, ("CTO",)),), datetime.now(UTC))
    (scored,) = recorded(lead)
    assert scored == LeadScoreChanged(
        score=40, reasons=[ScoreReason(rule="c-level", points=Decimal(40))]
    )


async def test_a_lead_is_registered_scored_by_the_rule_set_in_force() -> None:
    rules = [ScoringRuleData(type="job_title", name="c-level", points=40, words=["CTO"])]
    lead_id = uuid4()
    await (
        spec.given({SCORING_RULES_ID: [ScoringRulesSet(rules=rules)]})
        .when(RegisterLead(record_id=lead_id, values={"job_title": "CTO"}, owner="rita"), by=OWNER)
        .then(
            LeadRegistered(job_title="CTO", owner="rita", department="sales"),
            LeadScoreChanged(score=40, reasons=[ScoreReason(rule="c-level", points=Decimal(40))]),
        )
    )
