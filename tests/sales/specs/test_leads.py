"""Leads: registering one scores it, changing it rescores it, and its status moves forward
(new, working, qualified or disqualified with a reason, converted), refusing the steps that
make no sense. Who may do what is the one policy's, as for every CRM record.

The callers belong to department "sales" unless their name says otherwise."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import uuid4

import orjson
import pytest

from crm_sales.application import SalesApplication
from crm_sales.commands import (
    ChangeLead,
    ConvertLead,
    DisqualifyLead,
    EraseLeadOnRequest,
    QualifyLead,
    RegisterLead,
    StartWorkingLead,
)
from crm_sales.domain.lead import (
    EraseTheContact,
    Lead,
    LeadAlreadyConverted,
    LeadStatusRefused,
    ReasonRequired,
)
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.sales.leads import (
    LeadChanged,
    LeadConverted,
    LeadDisqualified,
    LeadErased,
    LeadQualified,
    LeadReassigned,
    LeadRegistered,
    LeadScoreChanged,
    LeadWorkStarted,
    ScoreReason,
)
from crm_shared.domain import Forbidden, NotFound
from crm_shared.eventstore.group_commit import VersionMismatch
from crm_shared.records.commands import ReassignRecord
from crm_shared.specs import Specification
from tests.sales.specs.contact_records import NONE_KNOWN

spec = Specification(lambda store: SalesApplication(store, store, contacts=NONE_KNOWN))

MANAGER = Principal("mia", Role.MANAGER, ("sales",))
OWNER = Principal("rita", Role.SALES_REP, ("sales",))
OTHER_REP = Principal("rob", Role.SALES_REP, ("sales",))
SUPPORT_AGENT = Principal("sue", Role.SERVICE_AGENT, ("support",))

GRACE = uuid4()
CONTACT, ACCOUNT, OPPORTUNITY = uuid4(), uuid4(), uuid4()

DECISION_MAKER = ScoreReason(rule="decision maker", points=Decimal(20))
MANAGER_TITLE = ScoreReason(rule="manager", points=Decimal(10))
MID_SIZE = ScoreReason(rule="mid-size company", points=Decimal(15))
REFERRAL = ScoreReason(rule="referral", points=Decimal(15))


def registered(**fields: Any) -> LeadRegistered:
    """Grace, owned by rita in sales, unless ``fields`` say otherwise."""
    values: dict[str, Any] = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@example.com",
        "owner": "rita",
        "department": "sales",
    }
    return LeadRegistered(**(values | fields))


def read(given: Any, principal: Principal = OWNER) -> dict[str, Any]:
    application: SalesApplication = given.application
    view: dict[str, Any] = orjson.loads(application.read(Lead, GRACE, principal).body)
    return view


# --- registering and scoring ---------------------------------------------------------


async def test_a_lead_is_registered_new_and_scored_with_its_reasons() -> None:
    values = {"first_name": "Grace", "job_title": "VP Engineering", "company_size": 250}
    await (
        spec.given()
        .when(RegisterLead(record_id=GRACE, values=values, owner="rita"), by=OWNER)
        .then(
            LeadRegistered(**values, owner="rita", department="sales"),
            LeadScoreChanged(score=35, reasons=[DECISION_MAKER, MID_SIZE]),
        )
    )


async def test_a_lead_no_rule_scores_records_no_score() -> None:
    await (
        spec.given()
        .when(RegisterLead(record_id=GRACE, values={"first_name": "Grace"}, owner="rita"), by=OWNER)
        .then(LeadRegistered(first_name="Grace", owner="rita", department="sales"))
    )


async def test_a_source_scores_whatever_case_it_was_typed_in() -> None:
    await (
        spec.given()
        .when(RegisterLead(record_id=GRACE, values={"source": "Referral"}, owner="rita"), by=OWNER)
        .then(
            LeadRegistered(source="Referral", owner="rita", department="sales"),
            LeadScoreChanged(score=15, reasons=[REFERRAL]),
        )
    )


async def test_a_change_that_moves_the_score_records_the_new_score_and_reasons() -> None:
    await (
        spec.given({GRACE: [registered(job_title="Analyst")]})
        .when(ChangeLead(record_id=GRACE, changes={"job_title": "CTO"}), by=OWNER)
        .then(
            LeadChanged(job_title="CTO"),
            LeadScoreChanged(score=20, reasons=[DECISION_MAKER]),
        )
    )


async def test_a_change_that_changes_the_reasons_but_not_the_points_records_them() -> None:
    given = {
        GRACE: [
            registered(company_size=100),
            LeadScoreChanged(score=15, reasons=[MID_SIZE]),
        ]
    }
    await (
        spec.given(given)
        .when(
            ChangeLead(record_id=GRACE, changes={"company_size": None, "source": "partner"}),
            by=OWNER,
        )
        .then(
            LeadChanged(company_size=None, source="partner"),
            LeadScoreChanged(score=15, reasons=[REFERRAL]),
        )
    )


async def test_a_change_that_leaves_the_score_as_it_was_records_no_score() -> None:
    given = {
        GRACE: [registered(job_title="CTO"), LeadScoreChanged(score=20, reasons=[DECISION_MAKER])]
    }
    await (
        spec.given(given)
        .when(ChangeLead(record_id=GRACE, changes={"job_title": "CEO", "region": "EMEA"}), by=OWNER)
        .then(LeadChanged(job_title="CEO", region="EMEA"))
    )


async def test_clearing_what_scored_brings_the_score_back_to_nothing() -> None:
    given = {
        GRACE: [registered(job_title="CTO"), LeadScoreChanged(score=20, reasons=[DECISION_MAKER])]
    }
    await (
        spec.given(given)
        .when(ChangeLead(record_id=GRACE, changes={"job_title": None}), by=OWNER)
        .then(LeadChanged(job_title=None), LeadScoreChanged(score=0, reasons=[]))
    )


def test_reading_a_lead_shows_its_score_and_why() -> None:
    given = spec.given(
        {
            GRACE: [
                registered(job_title="Sales Manager", source="referral"),
                LeadScoreChanged(score=25, reasons=[MANAGER_TITLE, REFERRAL]),
            ]
        }
    )
    view = read(given)
    assert (view["status"], view["score"]) == ("new", 25)
    assert view["score_reasons"] == [
        {"rule": "manager", "points": "10", "when": None},
        {"rule": "referral", "points": "15", "when": None},
    ]


# --- status ----------------------------------------------------------------------------


async def test_a_rep_starts_working_a_new_lead() -> None:
    await (
        spec.given({GRACE: [registered()]})
        .when(StartWorkingLead(record_id=GRACE), by=OWNER)
        .then(LeadWorkStarted())
    )


async def test_starting_work_on_a_lead_being_worked_records_nothing() -> None:
    await (
        spec.given({GRACE: [registered(), LeadWorkStarted()]})
        .when(StartWorkingLead(record_id=GRACE), by=OWNER)
        .then()
    )


async def test_a_qualified_lead_is_not_put_back_to_working() -> None:
    await (
        spec.given({GRACE: [registered(), LeadQualified()]})
        .when(StartWorkingLead(record_id=GRACE), by=OWNER)
        .then_refused(LeadStatusRefused)
    )


@pytest.mark.parametrize("past", [[], [LeadWorkStarted()], [LeadDisqualified(reason="no budget")]])
async def test_a_lead_is_qualified_from_new_working_or_disqualified(past: list[Any]) -> None:
    await (
        spec.given({GRACE: [registered(), *past]})
        .when(QualifyLead(record_id=GRACE), by=OWNER)
        .then(LeadQualified())
    )


async def test_qualifying_a_qualified_lead_records_nothing() -> None:
    await (
        spec.given({GRACE: [registered(), LeadQualified()]})
        .when(QualifyLead(record_id=GRACE), by=OWNER)
        .then()
    )


def test_a_requalified_lead_no_longer_shows_why_it_was_disqualified() -> None:
    given = spec.given(
        {GRACE: [registered(), LeadDisqualified(reason="no budget"), LeadQualified()]}
    )
    view = read(given)
    assert (view["status"], view["disqualification_reason"]) == ("qualified", None)


async def test_a_lead_is_disqualified_with_its_reason() -> None:
    given = spec.given({GRACE: [registered(), LeadQualified()]})
    await given.when(DisqualifyLead(record_id=GRACE, reason="no budget"), by=OWNER).then(
        LeadDisqualified(reason="no budget")
    )
    view = read(given)
    assert (view["status"], view["disqualification_reason"]) == ("disqualified", "no budget")


async def test_a_lead_is_not_disqualified_without_a_reason() -> None:
    await (
        spec.given({GRACE: [registered()]})
        .when(DisqualifyLead(record_id=GRACE, reason="  "), by=OWNER)
        .then_refused(ReasonRequired, field="reason")
    )


async def test_disqualifying_again_for_the_same_reason_records_nothing() -> None:
    await (
        spec.given({GRACE: [registered(), LeadDisqualified(reason="no budget")]})
        .when(DisqualifyLead(record_id=GRACE, reason="no budget"), by=OWNER)
        .then()
    )


async def test_disqualifying_again_for_another_reason_records_the_new_reason() -> None:
    await (
        spec.given({GRACE: [registered(), LeadDisqualified(reason="no budget")]})
        .when(DisqualifyLead(record_id=GRACE, reason="went with a competitor"), by=OWNER)
        .then(LeadDisqualified(reason="went with a competitor"))
    )


async def test_a_qualified_lead_is_converted_with_what_it_became() -> None:
    convert = ConvertLead(
        record_id=GRACE, contact_id=CONTACT, account_id=ACCOUNT, opportunity_id=OPPORTUNITY
    )
    await (
        spec.given({GRACE: [registered(), LeadQualified()]})
        .when(convert, by=OWNER)
        .then(LeadConverted(contact_id=CONTACT, account_id=ACCOUNT, opportunity_id=OPPORTUNITY))
    )


async def test_a_disqualified_lead_is_not_converted() -> None:
    await (
        spec.given({GRACE: [registered(), LeadDisqualified(reason="no budget")]})
        .when(ConvertLead(record_id=GRACE, contact_id=CONTACT), by=OWNER)
        .then_refused(LeadStatusRefused)
    )


CONVERTED = [registered(), LeadQualified(), LeadConverted(contact_id=CONTACT)]


@pytest.mark.parametrize(
    "command",
    [
        ChangeLead(record_id=GRACE, changes={"job_title": "CTO"}),
        StartWorkingLead(record_id=GRACE),
        QualifyLead(record_id=GRACE),
        DisqualifyLead(record_id=GRACE, reason="no budget"),
        ConvertLead(record_id=GRACE, contact_id=CONTACT),
        ReassignRecord(record_type=Lead, record_id=GRACE, owner="rob", department="sales"),
    ],
    ids=repr,
)
async def test_a_converted_lead_refuses_every_change(command: Any) -> None:
    await (
        spec.given({GRACE: CONVERTED}).when(command, by=MANAGER).then_refused(LeadAlreadyConverted)
    )


# --- who may, on which version -------------------------------------------------------


async def test_a_rep_sees_but_may_not_qualify_another_reps_lead() -> None:
    await (
        spec.given({GRACE: [registered(owner="rita")]})
        .when(QualifyLead(record_id=GRACE), by=OTHER_REP)
        .then_refused(Forbidden)
    )


async def test_a_lead_of_another_department_is_not_found() -> None:
    await (
        spec.given({GRACE: [registered()]})
        .when(DisqualifyLead(record_id=GRACE, reason="no budget"), by=SUPPORT_AGENT)
        .then_refused(NotFound)
    )


async def test_a_status_change_on_a_version_no_longer_current_is_refused() -> None:
    await (
        spec.given({GRACE: [registered(), LeadWorkStarted()]})
        .when(QualifyLead(record_id=GRACE), by=OWNER, if_match=1)
        .then_refused(VersionMismatch)
    )


async def test_a_manager_reassigns_a_lead() -> None:
    await (
        spec.given({GRACE: [registered()]})
        .when(
            ReassignRecord(record_type=Lead, record_id=GRACE, owner="rob", department="sales"),
            by=MANAGER,
        )
        .then(LeadReassigned(owner="rob", department="sales"))
    )


# --- the right to erasure, asked of the lead -------------------------------------------


async def test_erasing_a_lead_on_request_records_its_erasure() -> None:
    await (
        spec.given({GRACE: [registered()]})
        .when(EraseLeadOnRequest(record_id=GRACE), by=MANAGER)
        .then(LeadErased())
    )


async def test_a_converted_leads_person_is_erased_as_the_contact_it_became() -> None:
    await (
        spec.given({GRACE: CONVERTED})
        .when(EraseLeadOnRequest(record_id=GRACE), by=MANAGER)
        .then_refused(EraseTheContact)
    )
